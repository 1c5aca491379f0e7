"""## What it does
Flags subjects that may `create` Pods.

## Why is this bad?
Whoever creates a pod chooses its service account (and so inherits that account's rights), can
mount every Secret and ConfigMap of the namespace without any Secret permission, and — where Pod
Security admission does not stop it — run privileged, with host namespaces or a hostPath of `/`:
the node, then the cluster. `resourceNames` cannot restrict `create`.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["create"]
```

Use instead: Let people deploy through a CI system or GitOps controller; enforce the
`restricted` Pod Security level on namespaces where others may create pods.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("create",), "", "pods"),)
_WHY = (
    "a pod can run as any service account of its namespace and mount any Secret "
    "there; privileged or hostPath pods reach the node"
)


@inventory_rule(
    id="R006",
    name="pod-create",
    title="Binding lets subjects create pods",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Remove `create` on pods, or enforce Pod Security `restricted` in the namespaces "
        "where it is granted."
    ),
)
def pod_create(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
