"""## What it does
Flags subjects that hold the `escalate` verb on Roles or ClusterRoles.

## Why is this bad?
Normally a role may only be given rules its author already holds. `escalate` lifts that: add `*`
on `*` to a role bound to yourself. Adding rules to an aggregated role label (`aggregate-to-
edit`) even spreads them to every `edit` holder.

## Example
```yaml
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["roles", "clusterroles"]
    verbs: ["escalate", "update"]
```

Use instead: Keep RBAC changes in version control and apply them with an identity reserved for
that.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(("escalate",), "rbac.authorization.k8s.io", "clusterroles"),
    Power(("escalate",), "rbac.authorization.k8s.io", "roles"),
)
_WHY = (
    "`escalate` skips the escalation check on role writes: any rule can be added to a "
    "role the subject is bound to"
)


@inventory_rule(
    id="R015",
    name="role-escalate",
    title="Binding lets subjects write roles with more power than they hold",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `escalate` on roles and clusterroles.",
)
def role_escalate(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
