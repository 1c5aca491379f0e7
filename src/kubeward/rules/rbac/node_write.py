"""## What it does
Flags subjects that may update, patch or delete Nodes or update their status.

## Why is this bad?
Taints and labels decide where pods run. Cordoning or tainting the other nodes (with pod
eviction) makes privileged workloads land on a node the attacker controls; deleting nodes is an
outage.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["nodes"]
    verbs: ["patch"]
```

Use instead: Leave node changes to the node's own kubelet and the cluster autoscaler.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(("update", "patch", "delete"), "", "nodes"),
    Power(("update", "patch"), "", "nodes/status"),
)
_WHY = (
    "tainting, relabelling or deleting nodes moves workloads: powerful pods can be "
    "steered onto a compromised node"
)


@inventory_rule(
    id="R023",
    name="node-write",
    title="Binding lets subjects change or delete nodes",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on nodes and nodes/status.",
)
def node_write(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
