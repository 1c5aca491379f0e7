"""## What it does
Flags subjects that may write ValidatingAdmissionPolicies, MutatingAdmissionPolicies or their
bindings.

## Why is this bad?
Deleting or loosening a policy binding removes the guardrails other rules rely on (no privileged
pods, trusted registries); a MutatingAdmissionPolicy can rewrite every matching object.

## Example
```yaml
rules:
  - apiGroups: ["admissionregistration.k8s.io"]
    resources: ["validatingadmissionpolicybindings"]
    verbs: ["delete"]
```

Use instead: Manage admission policies from version control with a dedicated identity.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(
        ("create", "update", "patch", "delete"),
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    ),
    Power(
        ("create", "update", "patch", "delete"),
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    Power(
        ("create", "update", "patch", "delete"),
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicies",
    ),
    Power(
        ("create", "update", "patch", "delete"),
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
    ),
)
_WHY = (
    "admission policies decide what the cluster accepts: writing them can switch "
    "guardrails off or rewrite objects"
)


@inventory_rule(
    id="R019",
    name="admission-policy-write",
    title="Binding lets subjects create or change admission policies",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on admission policies and their bindings.",
)
def admission_policy_write(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
