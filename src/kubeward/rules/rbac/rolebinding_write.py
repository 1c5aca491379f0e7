"""## What it does
Flags subjects that may create, update or patch RoleBindings or ClusterRoleBindings. The
escalation check limits them to roles whose rules they hold (unless they also have `bind`,
R014), so this is about spreading power rather than gaining it.

## Why is this bad?
A subject that can write bindings can give its own rights to any other identity — a stolen token
becomes a persistent backdoor account. The built-in `admin` role has it in its namespace.

## Example
```yaml
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["rolebindings"]
    verbs: ["create"]
```

Use instead: Manage bindings from version control; give namespace owners `admin` only where they
own the namespace.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(("create", "update", "patch"), "rbac.authorization.k8s.io", "rolebindings"),
    Power(("create", "update", "patch"), "rbac.authorization.k8s.io", "clusterrolebindings"),
)
_WHY = (
    "new bindings spread every permission the subject holds to other identities (more with `bind`)"
)


@inventory_rule(
    id="R016",
    name="rolebinding-write",
    title="Binding lets subjects create or change role bindings",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on rolebindings and clusterrolebindings.",
)
def rolebinding_write(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
