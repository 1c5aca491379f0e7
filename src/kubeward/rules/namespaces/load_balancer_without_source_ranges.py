"""## What it does
Flags Services of `type: LoadBalancer` that do not restrict which client addresses the load
balancer accepts.

That is the case with:

- no `spec.loadBalancerSourceRanges` and no
  `service.beta.kubernetes.io/load-balancer-source-ranges` annotation (Kubernetes then allows
  `0.0.0.0/0`);
- a range that covers every address (`0.0.0.0/0`, `::/0`, any prefix length 0), in the field
  or in the annotation.

As in Kubernetes, a non-empty `spec.loadBalancerSourceRanges` takes precedence and the
annotation (comma-separated CIDRs) is used only when the field is empty. Internal load
balancers (`networking.gke.io/load-balancer-type: Internal`,
`service.beta.kubernetes.io/azure-load-balancer-internal: "true"`,
`service.beta.kubernetes.io/aws-load-balancer-scheme: internal`, ...) are flagged too: the
whole VPC, and whatever is peered or connected with it, can reach them, and the source ranges
are still applied to them by the cloud provider's firewall; suppress with a reason if that is
intended. Reference: [Service (`loadBalancerSourceRanges`, the
source-ranges annotation)](https://kubernetes.io/docs/concepts/services-networking/service/).

## Why is this bad?
A cloud load balancer usually gets a public address. Without source ranges the service is
open to the internet, where it is found by scanners within minutes; admin interfaces,
databases and internal APIs exposed this way are a classic breach. Source ranges make the
cloud provider's firewall allow only the networks that should connect.

## Example
```yaml
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  type: LoadBalancer
  ports: [{port: 443}]
```

Use instead: list the client networks:
```yaml
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [203.0.113.0/24, 198.51.100.10/32]
```
"""

import ipaddress
from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.model.objects import api_group
from kubeward.rules._base import RuleParams, Target, rule

ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def _everything(cidr: object) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


@rule(
    id="N007",
    name="load-balancer-without-source-ranges",
    title="Load balancer accepts connections from any address",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"Service"})),
    remediation="Set `spec.loadBalancerSourceRanges` to the client networks that need access.",
)
def load_balancer_without_source_ranges(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    spec = obj.raw.get("spec")
    if api_group(obj.api_version) != "" or not isinstance(spec, dict):
        return
    if spec.get("type") != "LoadBalancer":
        return
    ranges = spec.get("loadBalancerSourceRanges")
    if isinstance(ranges, list) and ranges:
        for index, cidr in enumerate(ranges):
            if _everything(cidr):
                yield Violation(
                    ("spec", "loadBalancerSourceRanges", index),
                    f"source range {cidr} admits every address",
                )
        return
    annotation = obj.annotations.get(ANNOTATION)
    if isinstance(annotation, str) and annotation.strip():
        wide = [c.strip() for c in annotation.split(",") if _everything(c)]
        if wide:
            yield Violation(
                ("metadata", "annotations", ANNOTATION),
                f"source range {wide[0]} in the annotation admits every address",
            )
        return
    yield Violation(
        ("spec",),
        "type LoadBalancer without loadBalancerSourceRanges: the load balancer accepts "
        "connections from any address",
    )
