"""## What it does
Flags subjects that may `update` or `patch` Pods.

## Why is this bad?
A pod's container images are mutable: patching one restarts the container with any image,
running as that pod's service account with its mounts. (Service account, volumes and
securityContext are immutable, so this is code execution as the pod, not a new escape.)

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["patch"]
```

Use instead: Change pods through their controllers, under review.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("update", "patch"), "", "pods"),)
_WHY = "a pod's image can be changed in place: new code runs as that pod's service account"


@inventory_rule(
    id="R008",
    name="pod-update",
    title="Binding lets subjects update running pods",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `update` and `patch` on pods.",
)
def pod_update(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
