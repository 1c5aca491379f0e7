"""## What it does
Flags subjects whose rule grants `delete` or `deletecollection` on `*` resources of `*` API
groups (without granting every verb, which R001 reports).

## Why is this bad?
Availability is security too: one token with wildcard delete can remove every workload, Secret
and PersistentVolumeClaim in scope, and `deletecollection` does it in one request.

## Example
```yaml
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["get", "list", "delete"]
```

Use instead: List the resources a cleanup job may delete.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (Power(("delete", "deletecollection"), "*", "*"),)
_WHY = (
    "deleting any resource in scope — workloads, Secrets, namespaces' contents — is "
    "an outage on demand"
)


@inventory_rule(
    id="R025",
    name="delete-everything",
    title="Binding lets subjects delete any resource",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Replace the wildcard with the resources that must be deleted.",
)
def delete_everything(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        if "*" in found.rule.verbs:
            continue  # every verb: R001
        yield Violation(("subjects", found.index), found.message(_WHY))
