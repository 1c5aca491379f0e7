"""## What it does
Checks every binding against the access policies of `kubeward.yaml` (`rbacPolicies`): each
policy says which subjects alone may hold some verbs on some resources, optionally only in some
namespaces ("only the platform group and Vault may read Secrets in `prod-*`"). A subject of a
binding that gets such a power and is not on the policy's list is reported, once per policy.

The power is matched with the authorizer's exact semantics, wildcards and `cluster-admin`
included (unlike R002 to R026, a full wildcard role is reported here too: the policy is about
*who*, not about the shape of the role). A RoleBinding is in scope when its namespace matches
one of the policy's `namespaces` globs; a ClusterRoleBinding always is (it grants in every
namespace, present and future). Through a RoleBinding, powers over cluster-scoped resources
grant nothing and are not reported. The API server's own default bindings are not judged, and
nor is `system:masters` (it is not a binding). The rule is skipped when no policy is configured.

## Why is this bad?
Generic risky-permission rules cannot know who *should* hold a power. A policy written down by
the team turns "who can read production secrets?" into a check that fails the moment a new
binding widens the answer, in CI before it reaches the cluster, or in a live scan after.

## Example
```yaml
# kubeward.yaml
rbacPolicies:
  - name: prod-secrets
    verbs: [get, list, watch]
    resources: [secrets]
    namespaces: ["prod-*"]
    allowedSubjects: ["group:platform-admins", "sa:vault/vault"]
    reason: production credentials are read by Vault only
---
kind: RoleBinding
metadata: {name: debug, namespace: prod-eu}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view-secrets}
subjects:
  - {kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}
```

Use instead: bind the power to the subjects the policy names, or change the policy (with review)
when the new holder is legitimate.
"""

from collections.abc import Iterator
from functools import lru_cache

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rbac.access import AccessPolicy
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Power, held


def _needs_policies(params: RuleParams) -> str | None:
    if not params.rbac_policies:
        return "no rbacPolicies configured in kubeward.yaml"
    return None


@lru_cache(maxsize=256)
def _powers(policy: AccessPolicy) -> tuple[Power, ...]:
    return tuple(Power(policy.verbs, group, resource) for group, resource in policy.resources)


@inventory_rule(
    id="R027",
    name="rbac-access-policy",
    title="Binding gives a power to a subject the access policy does not allow",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Bind the power only to the subjects the policy allows, or amend the policy.",
    skip_unless=_needs_policies,
)
def rbac_access_policy(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    for policy in params.rbac_policies:
        for found in held(obj, inventory, _powers(policy), full_wildcard=True):
            if not policy.covers_namespace(found.binding.namespace):
                break  # the same binding for every subject: out of the policy's scope
            if policy.allows(found.subject, found.binding.namespace):
                continue
            why = (
                f'access policy "{policy.name}" allows only {policy.describe_allowed()}'
                f"{policy.describe_scope()}"
            )
            if policy.reason:
                why += f" ({policy.reason})"
            yield Violation(("subjects", found.index), found.message(why))
