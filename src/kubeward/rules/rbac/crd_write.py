"""## What it does
Flags subjects that may write CustomResourceDefinitions.

## Why is this bad?
Deleting a CRD deletes every object of it (cert-manager Certificates, Argo Applications);
changing its schema or conversion webhook reroutes what controllers — often cluster-admin — act
on.

## Example
```yaml
rules:
  - apiGroups: ["apiextensions.k8s.io"]
    resources: ["customresourcedefinitions"]
    verbs: ["update"]
```

Use instead: Install CRDs with the operator's release pipeline only.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(
        ("create", "update", "patch", "delete"), "apiextensions.k8s.io", "customresourcedefinitions"
    ),
)
_WHY = (
    "CRDs define the APIs operators act on; changing or deleting one breaks or "
    "hijacks every controller that reads it"
)


@inventory_rule(
    id="R021",
    name="crd-write",
    title="Binding lets subjects create or change custom resource definitions",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on customresourcedefinitions.",
)
def crd_write(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
