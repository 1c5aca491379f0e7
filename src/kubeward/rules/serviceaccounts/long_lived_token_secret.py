"""## What it does
Flags Secrets of `type: kubernetes.io/service-account-token`: the legacy, non-expiring API
token of a service account, which the token controller fills in for the service account named
in the `kubernetes.io/service-account.name` annotation.

Since Kubernetes 1.24 such Secrets are no longer created automatically; pods get short-lived
tokens through the TokenRequest API (projected `serviceAccountToken` volumes). Since 1.29
(`LegacyServiceAccountTokenCleanUp`, on by default from 1.29, GA in 1.30) the controller
manager labels an *auto-generated* token unused for a year
`kubernetes.io/legacy-token-invalid-since` (the API server then rejects it) and deletes it a
year later; a token Secret created by hand, as in a manifest, is never cleaned up. A manifest
that still declares one asks for a token that never expires.

An invalidated Secret is still reported (the message says since when): it still holds the
token, and removing the label makes the token valid again. In a live scan Secrets are read
metadata-only; kubeward asks the server which of them have this type (a field selector), so
the rule judges them without any value being read.

## Why is this bad?
The token is valid until the Secret (or the service account) is deleted: it does not expire,
is not bound to a pod, and is not audience-restricted. Anyone who can read Secrets in the
namespace, or who finds the token in a backup, a log or a CI variable, holds the service
account's permissions indefinitely.

## Example
```yaml
apiVersion: v1
kind: Secret
metadata:
  name: ci-deployer-token
  annotations:
    kubernetes.io/service-account.name: ci-deployer
type: kubernetes.io/service-account-token
```

Use instead: request short-lived tokens when they are needed (`kubectl create token
ci-deployer --duration=1h`, the TokenRequest API, or a projected `serviceAccountToken`
volume in the pod), or use workload identity federation for callers outside the cluster.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule

_LEGACY_TYPE = "kubernetes.io/service-account-token"
_ACCOUNT_ANNOTATION = "kubernetes.io/service-account.name"
_INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since"


@rule(
    id="A005",
    name="long-lived-token-secret",
    title="Secret holds a long-lived service account token",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"Secret"})),
    remediation=(
        "Delete the token Secret and use short-lived tokens from the TokenRequest API "
        "(projected volumes or `kubectl create token`)."
    ),
    references=(
        "https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets",
        "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#auto-generated-legacy-serviceaccount-token-clean-up",
        "https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-legacy-token-invalid-since",
    ),
)
def long_lived_token_secret(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.raw.get("type") != _LEGACY_TYPE:
        return
    account = obj.annotations.get(_ACCOUNT_ANNOTATION)
    whose = (
        f'service account "{account}"'
        if isinstance(account, str) and account
        else f"a service account (no {_ACCOUNT_ANNOTATION} annotation names it)"
    )
    message = f"type {_LEGACY_TYPE}: a non-expiring API token for {whose}"
    invalid_since = obj.labels.get(_INVALID_SINCE)
    if isinstance(invalid_since, str) and invalid_since:
        # invalidated, not gone: the token is still in the Secret, and dropping the label
        # (update rights on the Secret) makes the API server accept it again
        message += (
            f" (invalidated since {invalid_since} by the legacy token cleaner; removing the "
            f"{_INVALID_SINCE} label re-enables it)"
        )
    yield Violation(("type",), message)
