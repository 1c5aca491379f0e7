"""## What it does
Flags bindings whose subjects include the user `system:anonymous`, the group
`system:unauthenticated` or the group `system:authenticated` (every identity, every service
account). The API server's own default bindings of these groups (discovery, version, health
checks) are not judged.

## Why is this bad?
Anything granted to `system:unauthenticated` is granted to the internet where the API server is
reachable; `system:authenticated` includes every service account of every pod, so one
compromised container holds it.

## Example
```yaml
subjects:
  - kind: Group
    name: system:authenticated
    apiGroup: rbac.authorization.k8s.io
```

Use instead: Bind roles to the groups or service accounts that need them.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rbac.objects import binding_from
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import is_bootstrap_default, rbac_policy

_EVERYONE = {
    ("User", "system:anonymous"): "every anonymous request",
    ("Group", "system:unauthenticated"): "every anonymous request",
    (
        "Group",
        "system:authenticated",
    ): "every authenticated identity, every service account included",
}


@inventory_rule(
    id="R026",
    name="unauthenticated-binding",
    title="Binding grants permissions to anonymous or all authenticated users",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Replace anonymous, unauthenticated and all-authenticated subjects with specific ones."
    ),
)
def unauthenticated_binding(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    if is_bootstrap_default(obj):
        return
    binding = binding_from(obj)
    if binding is None:
        return
    role = rbac_policy(inventory).role_for(binding)
    what = (
        f"{role.kind} {role.name}"
        if role is not None
        else f"{binding.role_kind} {binding.role_name}"
    )
    where = f'in namespace "{binding.namespace}"' if binding.namespace else "cluster-wide"
    for index, subject in enumerate(binding.subjects):
        reach = _EVERYONE.get((subject.kind, subject.name))
        if reach is not None:
            yield Violation(
                ("subjects", index),
                f"{subject.describe()} gets {what} {where}: {reach} holds it",
            )
