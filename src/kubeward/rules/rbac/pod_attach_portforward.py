"""## What it does
Flags subjects that may use `pods/attach` or `pods/portforward`: `create`, and on Kubernetes
before 1.35 also `get` (a WebSocket upgrade needed no `create` then; see R009 for how the version
is chosen).

## Why is this bad?
Attach connects to the container's stdin/stdout — an interactive shell where the process is one.
Port-forward reaches pod-local ports (admin consoles, databases bound to localhost) around every
NetworkPolicy.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["pods/portforward"]
    verbs: ["create"]
```

Use instead: Expose what must be reached through a Service with a NetworkPolicy; grant debugging
rights temporarily.
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
    return (
        Power(verbs, "", "pods/attach"),
        Power(verbs, "", "pods/portforward"),
    )


_WHY = "attach reaches the container's console; port-forward reaches ports that are not exposed"


@inventory_rule(
    id="R010",
    name="pod-attach-portforward",
    title="Binding lets subjects attach to pods or forward their ports",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `create` (and, before 1.35, `get`) on pods/attach and pods/portforward.",
)
def pod_attach_portforward(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _powers(params.kubernetes_version)):
        yield Violation(("subjects", found.index), found.message(_WHY))
