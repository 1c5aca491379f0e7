"""## What it does
Flags subjects that may `list` or `watch` Secrets. `watch` is as bad as `list` — a watch streams
every Secret object in full — and many tools forget it. A `resourceNames` restriction does not
make a plain list or watch possible, so such rules are not flagged.

## Why is this bad?
One request dumps every Secret of the namespace, or of the cluster through a ClusterRoleBinding:
service-account tokens, registry credentials, TLS keys.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["watch"]
```

Use instead: Give controllers that must follow Secrets a namespace-scoped Role, and humans `get`
on named Secrets only.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("list", "watch"), "", "secrets"),)
_WHY = (
    "list and watch return every Secret in full, values included: a dump of all "
    "credentials in scope"
)


@inventory_rule(
    id="R003",
    name="secrets-list-watch",
    title="Binding lets subjects list or watch Secrets",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Drop `list` and `watch` on secrets, or confine them to a RoleBinding in the one "
        "namespace that needs them."
    ),
)
def secrets_list_watch(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
