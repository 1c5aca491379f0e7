"""## What it does
Flags subjects that may open `pods/exec`: `create`, and on Kubernetes before 1.35 also `get`,
which opened an exec WebSocket without any `create` check (1.35 turned on
`AuthorizePodWebsocketUpgradeCreatePermission`). The version is `kubernetesVersion` in
`kubeward.yaml`, or a live cluster's own; a 1.35+ cluster that turned the feature gate off should
set `kubernetesVersion: "1.34"`. `*/exec` and `*` match too; `pods/*` does not.

## Why is this bad?
Exec runs commands in the container as its user: every Secret and token mounted there, and the
pod's network position. For pods with host access it is a path to the node.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["pods/exec"]
    verbs: ["get"]
```

Use instead: Grant exec for debugging in a namespace-scoped, time-limited binding, or use
ephemeral debug containers behind an approval.
"""

from collections.abc import Iterator
from functools import lru_cache

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rbac.queries import connect_verbs
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held


@lru_cache(maxsize=8)
def _powers(kubernetes_version: tuple[int, int]) -> tuple[Power, ...]:
    verbs = connect_verbs(kubernetes_version)
    return (Power(verbs, "", "pods/exec"),)


_WHY = "a shell in the pod: its files, its mounted Secrets and its service-account token"


@inventory_rule(
    id="R009",
    name="pod-exec",
    title="Binding lets subjects exec into pods",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `create` (and, before Kubernetes 1.35, `get`) on pods/exec.",
)
def pod_exec(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _powers(params.kubernetes_version)):
        yield Violation(("subjects", found.index), found.message(_WHY))
