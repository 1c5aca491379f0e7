"""## What it does
Flags subjects that may `impersonate` users, groups, service accounts, UIDs or user extras.
Impersonating groups includes `system:masters`, which bypasses RBAC. The built-in `edit` role
includes `impersonate serviceaccounts` in its namespace.

Constrained impersonation (KEP-5284: alpha in Kubernetes 1.35, beta in 1.36) is flagged too:
`impersonate:user-info` on users, groups, uids or userextras, `impersonate:serviceaccount` on
serviceaccounts, `impersonate:arbitrary-node` / `impersonate:associated-node` on nodes (all in
`authentication.k8s.io`). Those verbs only act together with `impersonate-on:<mode>:<verb>`
on the target resources, but they decide *whom* the subject can become, which is the power
this rule is about.

## Why is this bad?
With `Impersonate-User`/`Impersonate-Group` headers every request runs as the impersonated
identity. A group grant without `resourceNames` reaches `system:masters`: unlimited power, no
binding needed.

## Example
```yaml
rules:
  - apiGroups: [""]
    resources: ["users", "groups"]
    verbs: ["impersonate"]
```

Use instead: Restrict impersonation to named identities: `resourceNames: ["ci-bot"]`.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held

_AUTHENTICATION = "authentication.k8s.io"
_POWERS = (
    Power(("impersonate",), "", "users"),
    Power(("impersonate",), "", "groups"),
    Power(("impersonate",), "", "serviceaccounts"),
    Power(("impersonate",), _AUTHENTICATION, "uids"),
    Power(("impersonate",), _AUTHENTICATION, "userextras/scopes"),
    # constrained impersonation (KEP-5284)
    Power(("impersonate:user-info",), _AUTHENTICATION, "users"),
    Power(("impersonate:user-info",), _AUTHENTICATION, "groups"),
    Power(("impersonate:user-info",), _AUTHENTICATION, "uids"),
    Power(("impersonate:user-info",), _AUTHENTICATION, "userextras/scopes"),
    Power(("impersonate:serviceaccount",), _AUTHENTICATION, "serviceaccounts"),
    Power(("impersonate:arbitrary-node", "impersonate:associated-node"), _AUTHENTICATION, "nodes"),
)
_WHY = "impersonating a user or group (system:masters) or a service account takes its rights"


@inventory_rule(
    id="R013",
    name="impersonation",
    title="Binding lets subjects impersonate users, groups or service accounts",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove `impersonate`, or restrict it to named identities with `resourceNames`.",
)
def impersonation(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        yield Violation(("subjects", found.index), found.message(_WHY))
