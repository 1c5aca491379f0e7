"""## What it does
Flags subjects that may `create` the `serviceaccounts/token` subresource (also through `*/token`
or `*`).

## Why is this bad?
A TokenRequest returns a working token for the service account named in the URL: the subject can
act as any service account of the namespace (or of every namespace), whatever RBAC those
accounts hold. The built-in `edit` and `admin` roles grant it in their namespace.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["serviceaccounts/token"]
    verbs: ["create"]
```

Use instead: Limit the rule to the service accounts it is for with `resourceNames: ["ci-
deployer"]`.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("create",), "", "serviceaccounts/token"),)
_WHY = "the TokenRequest API issues a token for any service account in scope, with all its rights"


@inventory_rule(
    id="R005",
    name="service-account-token-create",
    title="Binding lets subjects mint service-account tokens",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Drop `create` on serviceaccounts/token, or restrict it with `resourceNames`.",
)
def service_account_token_create(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
