"""## What it does
Flags subjects that may write Endpoints, EndpointSlices or `services/status`.

## Why is this bad?
Endpoints decide where a Service's traffic goes: writing them redirects clients (and admission
webhooks served behind Services) to an attacker's address. `services/status` writes enable the
CVE-2020-8554 man-in-the-middle through `status.loadBalancer.ingress`.

## Example
```yaml
rules:
  - apiGroups: ["discovery.k8s.io"]
    resources: ["endpointslices"]
    verbs: ["create"]
```

Use instead: Let the endpoint controllers manage endpoints; use Services with selectors.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(("create", "update", "patch"), "", "endpoints"),
    Power(("create", "update", "patch"), "discovery.k8s.io", "endpointslices"),
    Power(("update", "patch"), "", "services/status"),
)
_WHY = (
    "hand-written endpoints or service status send a Service's traffic (webhook "
    "backends included) to any address"
)


@inventory_rule(
    id="R024",
    name="service-traffic-redirect",
    title="Binding lets subjects redirect service traffic",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on endpoints, endpointslices and services/status.",
    references=("https://github.com/kubernetes/kubernetes/issues/97076",),
)
def service_traffic_redirect(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
