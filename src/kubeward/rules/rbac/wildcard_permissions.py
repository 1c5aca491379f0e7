"""## What it does
Flags subjects whose bound role has a rule with `*` among its API groups, resources or verbs
(CIS Kubernetes Benchmark 5.1.3, "Minimize wildcard use in Roles and ClusterRoles"). A rule
with `*` in all three is R001's to report; the API server's own default roles and bindings
(`system:*`, labelled `kubernetes.io/bootstrapping: rbac-defaults`) are left out.

## Why is this bad?
A wildcard grants more than anyone reviewed: `resources: ["*"]` covers Secrets and every
resource a CRD adds later, `verbs: ["*"]` covers `escalate`, `bind` and `impersonate`-style
verbs and any verb a future API adds, and `apiGroups: ["*"]` reaches every group installed
after the role was written.

## Example
```yaml
rules:
  - apiGroups: ["apps"]
    resources: ["*"]
    verbs: ["get", "list", "update"]
```

Use instead: List the API groups, resources and verbs the subjects need.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rbac.policy import ALL
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import bound, is_full_wildcard

_FIELDS = (("apiGroups", "api_groups"), ("resources", "resources"), ("verbs", "verbs"))


@inventory_rule(
    id="R028",
    name="wildcard-permissions",
    title="Binding grants permissions through a wildcard",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Replace `*` in the role's rules with the API groups, resources and verbs "
    "that are needed.",
)
def wildcard_permissions(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    found = bound(obj, inventory)
    if found is None:
        return
    binding, role = found
    for rule in role.rules:
        if is_full_wildcard(rule):
            continue  # every verb on everything: R001
        wild = [name for name, attribute in _FIELDS if ALL in getattr(rule, attribute)]
        if not wild:
            continue
        where = f'in namespace "{binding.namespace}"' if binding.namespace else "cluster-wide"
        for index, subject in enumerate(binding.subjects):
            if subject.kind == "ServiceAccount" and not (subject.namespace or binding.namespace):
                continue  # a ClusterRoleBinding to an account without namespace binds nobody
            yield Violation(
                ("subjects", index),
                f"{subject.describe(binding.namespace)} gets `*` in "
                f"{' and '.join(wild)} {where} (via {role.kind} {role.name}): the grant "
                "reaches whatever those names will ever cover",
            )
        return  # one finding per subject: the first wildcard rule names the role
