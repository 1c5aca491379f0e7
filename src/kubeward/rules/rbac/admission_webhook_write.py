"""## What it does
Flags subjects that may create, update or patch MutatingWebhookConfigurations or
ValidatingWebhookConfigurations (cluster-scoped: ClusterRoleBindings only).

## Why is this bad?
A mutating webhook can inject a privileged sidecar into every new pod; any webhook receives the
full objects it matches — Secrets included — at a URL of the author's choosing; `failurePolicy:
Fail` on a dead endpoint blocks the cluster.

## Example
```yaml
rules:
  - apiGroups: ["admissionregistration.k8s.io"]
    resources: ["mutatingwebhookconfigurations"]
    verbs: ["create"]
```

Use instead: Reserve webhook registration to the platform team's deployment identity.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_POWERS = (
    Power(
        ("create", "update", "patch"),
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    Power(
        ("create", "update", "patch"),
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
)
_WHY = "a webhook sees (and a mutating one rewrites) every object it matches, Secrets included"


@inventory_rule(
    id="R018",
    name="admission-webhook-write",
    title="Binding lets subjects create or change admission webhooks",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove write verbs on webhook configurations.",
)
def admission_webhook_write(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
