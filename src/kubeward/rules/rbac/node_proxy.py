"""## What it does
Flags subjects that hold any verb on `nodes/proxy`, `get` included. Only ClusterRoleBindings can
grant it (nodes are cluster-scoped).

## Why is this bad?
`nodes/proxy` forwards to the kubelet API: `/exec`, `/run`, `/attach`, `/portForward` on every
pod of every node, which API server audit logs and admission never see. A WebSocket upgrade
makes `get` sufficient (kubernetes/kubernetes#119640).

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["nodes/proxy"]
    verbs: ["get"]
```

Use instead: Give monitoring agents `nodes/metrics` and `nodes/stats` instead (fine-grained
kubelet authorization, KEP-2862).
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("get", "create", "update", "patch", "delete", "*"), "", "nodes/proxy"),)
_WHY = (
    "the kubelet API through the API server: exec into any pod of any node, unaudited "
    "and past admission; `get` is enough over WebSocket"
)


@inventory_rule(
    id="R012",
    name="node-proxy",
    title="Binding grants access to the kubelet API through nodes/proxy",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Remove nodes/proxy from the role; grant nodes/metrics or nodes/stats for monitoring."
    ),
    references=("https://github.com/kubernetes/kubernetes/issues/119640",),
)
def node_proxy(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
