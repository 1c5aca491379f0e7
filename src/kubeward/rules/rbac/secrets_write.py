"""## What it does
Flags subjects that may `create`, `update` or `patch` Secrets.

## Why is this bad?
Creating a `kubernetes.io/service-account-token` Secret annotated with a service account makes
the token controller issue a long-lived token for that account (still true after 1.24: only the
*automatic* creation stopped). With read access that is every service account's rights in the
namespace; without it, existing Secrets can still be replaced with attacker-chosen values.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["create", "update"]
```

Use instead: Manage Secrets through a dedicated operator (External Secrets, Sealed Secrets) and
give people read-only roles.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("create", "update", "patch"), "", "secrets"),)
_WHY = (
    "a new Secret of type kubernetes.io/service-account-token naming any service "
    "account is filled with a token for it"
)


@inventory_rule(
    id="R004",
    name="secrets-write",
    title="Binding lets subjects create or change Secrets",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on secrets, or restrict them to named Secrets.",
)
def secrets_write(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
