"""## What it does
Flags pods that share the host's process ID namespace (`hostPID: true`).

## Why is this bad?
The containers see every process on the node: they can read other containers' environment
variables and memory maps through `/proc`, signal or `ptrace` them (with the matching
capabilities), and find credentials passed on command lines. Combined with privileges it is a
direct route to the node. Forbidden by the Pod Security Standards from *baseline* up.

## Example
```yaml
spec:
  hostPID: true
```

Use instead: remove `hostPID` (it defaults to `false`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path


@rule(
    id="W002",
    name="host-pid",
    title="Pod shares the host PID namespace",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove `hostPID: true` from the pod spec.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
def host_pid(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.pod_spec is not None and obj.pod_spec.get("hostPID") is True:
        yield Violation(pod_path(obj, "hostPID"), "the pod shares the host's process namespace")
