"""## What it does
Flags pods that share the host's IPC namespace (`hostIPC: true`).

## Why is this bad?
Processes in the pod can use System V IPC and POSIX shared memory of every process on the
node, reading or tampering with data other workloads and node services exchange there.
Forbidden by the Pod Security Standards from *baseline* up.

## Example
```yaml
spec:
  hostIPC: true
```

Use instead: remove `hostIPC` (it defaults to `false`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path


@rule(
    id="W003",
    name="host-ipc",
    title="Pod shares the host IPC namespace",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove `hostIPC: true` from the pod spec.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
def host_ipc(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.pod_spec is not None and obj.pod_spec.get("hostIPC") is True:
        yield Violation(pod_path(obj, "hostIPC"), "the pod shares the host's IPC namespace")
