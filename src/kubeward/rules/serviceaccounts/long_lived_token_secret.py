"""## What it does
Flags Secrets of `type: kubernetes.io/service-account-token`: the legacy, non-expiring API
token of a service account, which the token controller fills in for the service account named
in the `kubernetes.io/service-account.name` annotation.

Since Kubernetes 1.24 such Secrets are no longer created automatically; pods get short-lived
tokens through the TokenRequest API (projected `serviceAccountToken` volumes), and since 1.29
unused auto-generated legacy tokens are invalidated and cleaned up. A manifest that still
declares one asks for a token that never expires.

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
    yield Violation(("type",), f"type {_LEGACY_TYPE}: a non-expiring API token for {whose}")
