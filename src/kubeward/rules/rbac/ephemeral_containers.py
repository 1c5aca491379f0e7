"""## What it does
Flags subjects that may `update` or `patch` `pods/ephemeralcontainers`.

## Why is this bad?
An ephemeral container joins an existing pod: its network, its process namespace (with
`targetContainerName`), its service account. It may be privileged unless Pod Security admission
forbids it.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["pods/ephemeralcontainers"]
    verbs: ["patch"]
```

Use instead: Reserve `kubectl debug` to break-glass identities.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("update", "patch"), "", "pods/ephemeralcontainers"),)
_WHY = (
    "a debug container injected into any pod runs as its service account, privileged "
    "where admission allows"
)


@inventory_rule(
    id="R011",
    name="ephemeral-containers",
    title="Binding lets subjects add ephemeral containers to pods",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `update` and `patch` on pods/ephemeralcontainers.",
)
def ephemeral_containers(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
