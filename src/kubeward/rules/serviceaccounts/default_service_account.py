"""## What it does
Flags workloads that run as the namespace's `default` service account, either by naming it
(`serviceAccountName: default`) or by not naming one at all (Kubernetes then assigns `default`).

The deprecated `serviceAccount` field is read the way the API server reads it: it counts only
when `serviceAccountName` is unset or empty, so when both are set and differ,
`serviceAccountName` wins. An empty string names no account. The account is the `default` of
whatever namespace the pods are deployed to, so the rule needs no namespace to judge.

## Why is this bad?
When every workload shares `default`, one stolen token is the key to all of them: any
permission granted to `default` (often added for one app's convenience) is granted to every pod
in the namespace. A dedicated service account per workload keeps the blast radius to that
workload and makes RBAC reviews meaningful.

## Example
```yaml
kind: Deployment
spec:
  template:
    spec:                 # no serviceAccountName: runs as "default"
      containers:
        - name: api
          image: ghcr.io/acme/api:2.1.0
```

Use instead: create a ServiceAccount for the workload and set
`serviceAccountName: api` (and `automountServiceAccountToken: false` if it never calls the
Kubernetes API).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule


@rule(
    id="A001",
    name="default-service-account",
    title="Workload runs as the default service account",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Create a dedicated ServiceAccount and set `serviceAccountName` in the pod spec.",
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#use-the-default-service-account-to-access-the-api-server",
        "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#security",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/apis/core/v1/conversion.go",
    ),
)
def default_service_account(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    spec, base = obj.pod_spec, obj.pod_spec_path
    if spec is None or base is None:
        return
    name = spec.get("serviceAccountName")
    field = "serviceAccountName"
    if not name:
        # The deprecated `serviceAccount` field is still honoured when the new one is unset.
        name, field = spec.get("serviceAccount"), "serviceAccount"
    if not name:
        yield Violation(
            base, "no serviceAccountName: the pod runs as the `default` service account"
        )
    elif name == "default":
        yield Violation((*base, field), "the pod runs as the `default` service account")
