"""## What it does
Flags subjects that may `get` Secrets without a `resourceNames` restriction (`list` and `watch`
have their own rule, R003).

## Why is this bad?
Secrets hold the credentials of the namespace (or, through a ClusterRoleBinding, of every
namespace): service-account tokens that carry their own RBAC rights, registry credentials,
database passwords, TLS keys. Read access to them is usually the next step of an attack.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get"]
```

Use instead: Mount the Secrets a workload needs as volumes (no RBAC needed), or limit the rule
with `resourceNames: ["app-config"]`.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("get",), "", "secrets"),)
_WHY = (
    "reading Secrets yields credentials: service-account tokens, registry and "
    "database passwords, TLS keys"
)


@inventory_rule(
    id="R002",
    name="secrets-read",
    title="Binding lets subjects read Secrets",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Drop `get` on secrets, or restrict it to named Secrets with `resourceNames`.",
)
def secrets_read(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
