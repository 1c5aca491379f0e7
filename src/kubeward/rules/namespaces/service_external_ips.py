"""## What it does
Flags Services that set `spec.externalIPs`, whatever their type.

## Why is this bad?
kube-proxy sends traffic for an external IP to the Service's pods on every node, and
Kubernetes does not check who owns the address. Anyone allowed to create or edit a Service
can therefore claim any IP, such as a public DNS resolver or another team's database, and
intercept the traffic that pods and nodes send to it: the man-in-the-middle of CVE-2020-8554,
which was never fixed in Kubernetes itself. The recommended mitigation is to forbid the field
with an admission policy (the `DenyServiceExternalIPs` admission plugin), so manifests that
use it break as soon as that mitigation is applied.

## Example
```yaml
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  externalIPs: [198.51.100.7]
  ports: [{port: 443}]
```

Use instead: expose the Service through a `LoadBalancer` (with source ranges), an Ingress or
a Gateway, whose addresses the platform allocates.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.model.objects import api_group
from kubeward.rules._base import RuleParams, Target, rule


@rule(
    id="N008",
    name="service-external-ips",
    title="Service claims external IPs",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"Service"})),
    remediation=(
        "Remove `spec.externalIPs` and expose the Service through a load balancer, Ingress "
        "or Gateway."
    ),
)
def service_external_ips(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    spec = obj.raw.get("spec")
    if api_group(obj.api_version) != "" or not isinstance(spec, dict):
        return
    addresses = spec.get("externalIPs")
    if not isinstance(addresses, list) or not addresses:
        return
    first = ", ".join(shown(a) for a in addresses[:3])
    more = f" and {len(addresses) - 3} more" if len(addresses) > 3 else ""
    yield Violation(
        ("spec", "externalIPs"),
        f"externalIPs {first}{more}: traffic from the cluster to these addresses is "
        "captured by this Service (CVE-2020-8554)",
    )
