"""## What it does
Flags subjects that may write APIServices.

## Why is this bad?
The API server proxies every request for the group to the registered service, with the caller's
identity in headers: a man in the middle for that API, and — for groups like `metrics.k8s.io` —
a credential sink.

## Example
```yaml
rules:
  - apiGroups: ["apiregistration.k8s.io"]
    resources: ["apiservices"]
    verbs: ["create"]
```

Use instead: Register aggregated APIs only from the platform's release pipeline.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("create", "update", "patch"), "apiregistration.k8s.io", "apiservices"),)
_WHY = (
    "an APIService routes an API group to a server of the author's choosing, which "
    "receives the callers' requests and forwarded identities"
)


@inventory_rule(
    id="R022",
    name="apiservice-write",
    title="Binding lets subjects register aggregated APIs",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on apiservices.",
)
def apiservice_write(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
