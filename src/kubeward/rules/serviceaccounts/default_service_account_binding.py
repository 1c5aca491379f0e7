"""## What it does
Flags RoleBindings and ClusterRoleBindings that grant a role to a namespace's `default`
service account, pointing at the subject.

RBAC lets a subject name it in several ways, all reported:

- `kind: ServiceAccount, name: default`, in the subject's `namespace` or, for a RoleBinding
  that leaves it out, the binding's own namespace;
- `kind: User, name: system:serviceaccount:<namespace>:default`, the user name the service
  account authenticates as;
- `kind: Group, name: system:serviceaccounts` (every service account of the cluster),
  `system:serviceaccounts:<namespace>` (every service account of that namespace) or
  `system:authenticated` (every authenticated identity, which every service account is),
  groups that contain the `default` service accounts and are reported with their own message.
  R026 also reports `system:authenticated`, for everything else that group takes in.

A `ServiceAccount` subject without a `namespace` in a ClusterRoleBinding is reported too: the
API server rejects such a binding, but the subject still says which account was meant.

Not flagged: the API server's own default bindings (named `system:…` and labelled
`kubernetes.io/bootstrapping: rbac-defaults`, e.g. `system:service-account-issuer-discovery`,
which lets every service account read the OIDC discovery document). A binding with that label
but another name is still judged: the label alone proves nothing.

## Why is this bad?
Every pod that does not name a service account runs as `default`, so a role bound to it is
silently given to every such pod of the namespace, including ones deployed later for other
purposes. A binding to the `system:serviceaccounts` groups goes further: any pod of the
namespace (or of the cluster) gets the role whatever service account it uses. A compromise of
any of those pods yields the permissions.

## Example
```yaml
kind: RoleBinding
metadata: {name: read-config, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-reader}
subjects:
  - kind: ServiceAccount
    name: default
```

Use instead: create a ServiceAccount for the workload that needs the role, bind the role to
it (`name: config-reader-app`) and set `serviceAccountName` in that workload.
"""

from collections.abc import Iterator
from typing import Any

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule

_ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
_AUTHENTICATED = "system:authenticated"
_SA_USER_PREFIX = "system:serviceaccount:"


def _bootstrap_default(obj: K8sObject) -> bool:
    return (
        obj.kind == "ClusterRoleBinding"
        and obj.name.startswith("system:")
        and obj.labels.get("kubernetes.io/bootstrapping") == "rbac-defaults"
    )


def _role(obj: K8sObject) -> str:
    ref = obj.raw.get("roleRef")
    if isinstance(ref, dict):
        kind, name = ref.get("kind"), ref.get("name")
        if isinstance(kind, str) and isinstance(name, str):
            return f'{kind} "{name}"'
    return "its role"


def _check_subject(obj: K8sObject, subject: dict[str, Any], role: str) -> str | None:
    kind, name = subject.get("kind"), subject.get("name")
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    if kind == "ServiceAccount" and name == "default":
        namespace = subject.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            namespace = obj.namespace if obj.kind == "RoleBinding" else None
        if namespace:
            where = f'namespace "{namespace}"'
        elif obj.kind == "RoleBinding":
            where = "the binding's namespace"
        else:
            return (
                f"names the `default` service account for {role} without the `namespace` a "
                "ClusterRoleBinding requires: the API server rejects the binding, and with one "
                "added every pod of that namespace that names no service account gets the role"
            )
        return (
            f"grants {role} to the `default` service account of {where}: every pod there "
            "that names no service account gets it"
        )
    if kind == "User" and name.startswith(_SA_USER_PREFIX):
        namespace, _, account = name[len(_SA_USER_PREFIX) :].rpartition(":")
        if account == "default" and namespace:
            return (
                f'grants {role} to user "{name}", the `default` service account of namespace '
                f'"{namespace}": every pod there that names no service account gets it'
            )
        return None
    if kind == "Group" and name == _ALL_SERVICE_ACCOUNTS:
        return (
            f'grants {role} to group "{name}": every service account of every namespace, '
            "`default` included, gets it"
        )
    if kind == "Group" and name == _AUTHENTICATED:
        return (
            f'grants {role} to group "{name}": every authenticated identity, so every service '
            "account of every namespace, `default` included, gets it"
        )
    if kind == "Group" and name.startswith(_ALL_SERVICE_ACCOUNTS + ":"):
        namespace = name[len(_ALL_SERVICE_ACCOUNTS) + 1 :]
        if not namespace:  # no service account is in "system:serviceaccounts:"
            return None
        return (
            f'grants {role} to group "{name}": every service account of namespace '
            f'"{namespace}", `default` included, gets it'
        )
    return None


@rule(
    id="A004",
    name="default-service-account-binding",
    title="Role is bound to a default service account",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation=(
        "Bind the role to a dedicated ServiceAccount used only by the workload that needs it."
    ),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects",
        "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/",
        "https://kubernetes.io/docs/reference/kubernetes-api/definitions/subject-v1-rbac/",
    ),
)
def default_service_account_binding(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if _bootstrap_default(obj):
        return
    subjects = obj.raw.get("subjects")
    if not isinstance(subjects, list):
        return
    role = _role(obj)
    for index, subject in enumerate(subjects):
        if not isinstance(subject, dict):
            continue
        message = _check_subject(obj, subject, role)
        if message is not None:
            yield Violation(("subjects", index), message)
