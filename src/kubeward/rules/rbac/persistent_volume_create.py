"""## What it does
Flags subjects that may `create` PersistentVolumes (cluster-scoped).

## Why is this bad?
A PersistentVolume of type `hostPath` bound to a claim gives a pod the node's filesystem even in
a namespace where Pod Security `restricted` forbids hostPath volumes: admission sees only the
claim.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["persistentvolumes"]
    verbs: ["create"]
```

Use instead: Provision volumes through StorageClasses and their provisioners.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("create",), "", "persistentvolumes"),)
_WHY = (
    "a hostPath PersistentVolume mounts the node's filesystem through a claim, unseen "
    "by Pod Security admission"
)


@inventory_rule(
    id="R020",
    name="persistent-volume-create",
    title="Binding lets subjects create persistent volumes",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `create` on persistentvolumes.",
)
def persistent_volume_create(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
