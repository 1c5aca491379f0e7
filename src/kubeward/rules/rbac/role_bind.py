"""## What it does
Flags subjects that hold the `bind` verb on Roles or ClusterRoles (without `resourceNames`).
Through a RoleBinding the new bindings are limited to that namespace — still every power there.

## Why is this bad?
The API server refuses a binding that grants more than its author holds — unless the author has
`bind` on the role. Together with permission to create bindings this is unlimited escalation.

## Example
```yaml
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["clusterroles"]
    verbs: ["bind"]
```

Use instead: Limit `bind` to the roles meant to be delegated: `resourceNames: ["view", "edit"]`.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    # bind is checked in the namespace of the binding being written: through a RoleBinding it
    # lets the subject bind any ClusterRole (cluster-admin included) inside that namespace
    Power(("bind",), "rbac.authorization.k8s.io", "clusterroles", namespaced=True),
    Power(("bind",), "rbac.authorization.k8s.io", "roles"),
)
_WHY = (
    "`bind` skips the escalation check: the subject can bind any role, cluster-admin "
    "included, to itself"
)


@inventory_rule(
    id="R014",
    name="role-bind",
    title="Binding lets subjects bind roles they do not hold",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `bind`, or restrict it to delegable roles with `resourceNames`.",
)
def role_bind(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
