"""## What it does
Flags subjects that may create, update or patch Deployments, DaemonSets, StatefulSets,
ReplicaSets, Jobs, CronJobs or ReplicationControllers: the same power as creating pods (R006),
one step removed.

## Why is this bad?
The controller creates the pods, but the subject writes their template: service account, mounted
Secrets, securityContext, host namespaces. Patching an existing Deployment also runs new code as
its service account.

## Example
```yaml
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["patch"]
```

Use instead: Deploy through CI or GitOps with reviewed manifests; give people read access and
`deployments/scale`.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(("create", "update", "patch"), "apps", "deployments"),
    Power(("create", "update", "patch"), "apps", "daemonsets"),
    Power(("create", "update", "patch"), "apps", "statefulsets"),
    Power(("create", "update", "patch"), "apps", "replicasets"),
    Power(("create", "update", "patch"), "batch", "jobs"),
    Power(("create", "update", "patch"), "batch", "cronjobs"),
    Power(("create", "update", "patch"), "", "replicationcontrollers"),
)
_WHY = (
    "a controller creates pods from its template: any service account, any Secret, "
    "and privileged pods where admission allows"
)


@inventory_rule(
    id="R007",
    name="workload-controller-write",
    title="Binding lets subjects create or change workload controllers",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Remove write verbs on workload controllers, or confine them to namespaces with "
        "Pod Security `restricted`."
    ),
)
def workload_controller_write(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
