"""## What it does
Flags subjects that may use `pods/attach` or `pods/portforward` (`create`, or `get` before
Kubernetes 1.35).

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

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(("create", "get"), "", "pods/attach"),
    Power(("create", "get"), "", "pods/portforward"),
)
_WHY = "attach reaches the container's console; port-forward reaches ports that are not exposed"


@inventory_rule(
    id="R010",
    name="pod-attach-portforward",
    title="Binding lets subjects attach to pods or forward their ports",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `create` and `get` on pods/attach and pods/portforward.",
)
def pod_attach_portforward(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
