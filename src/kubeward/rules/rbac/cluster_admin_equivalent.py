"""## What it does
Flags subjects that get a rule with `*` verbs, `*` API groups and `*` resources — the `cluster-
admin` role or any copy of it. Through a RoleBinding it is every power inside that namespace
(its Secrets, its pods, its RBAC), through a ClusterRoleBinding every power everywhere.

## Why is this bad?
A compromise of the subject is a compromise of everything the binding reaches: every Secret,
every workload, and through them the nodes. Few humans and almost no workloads need it;
operators and CI systems that hold it are the usual way a single leaked token becomes a cluster
takeover.

## Example
```yaml
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
```

Use instead: Bind a role that lists the resources and verbs the subject needs (`edit`, `view`,
or a purpose-built role), in the namespaces it needs them.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("*",), "*", "*", label="do anything"),)
_WHY = "every verb on every resource of every API group: cluster-admin in all but name"


@inventory_rule(
    id="R001",
    name="cluster-admin-equivalent",
    title="Binding grants every verb on every resource",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Replace the binding with one to a role that lists only the needed resources and verbs."
    ),
    references=(
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege",
    ),
)
def cluster_admin_equivalent(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS, full_wildcard=True):
        yield Violation(("subjects", found.index), found.message(_WHY))
