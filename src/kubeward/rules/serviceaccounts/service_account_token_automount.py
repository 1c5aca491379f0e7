"""## What it does
Flags workloads whose pods get their service account's API token mounted
(`/var/run/secrets/kubernetes.io/serviceaccount`).

Kubernetes mounts the token unless `automountServiceAccountToken: false` is set on the pod spec
or, when the pod spec leaves it unset, on the ServiceAccount; the pod spec wins over the
ServiceAccount. So the rule:

- flags `automountServiceAccountToken: true` in the pod spec (whatever the ServiceAccount says);
- passes `automountServiceAccountToken: false` in the pod spec;
- when the pod spec does not set it, looks up the ServiceAccount the pods run as (same
  namespace, `serviceAccountName`, `default` when none is named) among the scanned objects:
  it passes if that ServiceAccount sets `automountServiceAccountToken: false`, and flags
  otherwise. A ServiceAccount that is not part of the scan is taken as not disabling it (the
  safe reading: that is what Kubernetes does for a ServiceAccount created without the field);
  the message says whether the ServiceAccount was found.

## Why is this bad?
Most workloads never call the Kubernetes API, yet every container of such a pod can read a
bearer token for its service account. Anyone who gets code execution in the pod (an RCE, a
malicious dependency, a debug shell) can use it against the API server with whatever RBAC the
service account holds, often more than intended, and probe the API for escalation paths.
Not mounting the token removes that credential from the pod altogether.

## Example
```yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web              # does not disable automounting
---
kind: Deployment
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2
```

Use instead: set `automountServiceAccountToken: false` on the ServiceAccount (or on the pod
spec); a pod that does need the API can mount a short-lived, audience-bound token through a
`projected` volume with a `serviceAccountToken` source.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, inventory_rule
from kubeward.rules._common.pods import service_account_name

_FIELD = "automountServiceAccountToken"


@inventory_rule(
    id="A002",
    name="service-account-token-automount",
    title="Service account token is mounted into the pods",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation=(
        "Set `automountServiceAccountToken: false` on the ServiceAccount or the pod spec, "
        "and mount a projected token only where the API is really needed."
    ),
    reads={"ServiceAccount"},
)
def service_account_token_automount(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    spec, base = obj.pod_spec, obj.pod_spec_path
    if spec is None or base is None:
        return
    pod_value = spec.get(_FIELD)
    sa_name = service_account_name(obj)
    shown = f"{obj.namespace}/{sa_name}" if obj.namespace else sa_name
    if pod_value is True:
        yield Violation(
            (*base, _FIELD),
            f"the pod spec sets {_FIELD}: true, so the token of ServiceAccount "
            f'"{shown}" is mounted into every container',
        )
        return
    if pod_value is False:
        return
    account = inventory.get("ServiceAccount", obj.namespace, sa_name)
    if account is None:
        yield Violation(
            base,
            f'{_FIELD} is not set and ServiceAccount "{shown}" is not in the scan: '
            "Kubernetes mounts its token unless the ServiceAccount sets "
            f"{_FIELD}: false",
        )
        return
    sa_value = account.raw.get(_FIELD)
    if sa_value is False:
        return
    said = "sets it to true" if sa_value is True else "does not set it either"
    yield Violation(
        base,
        f'{_FIELD} is not set and ServiceAccount "{shown}" {said}: '
        "its token is mounted into every container",
    )
