"""## What it does
Flags pods whose containers share one process namespace (`shareProcessNamespace: true`).

## Why is this bad?
Every container of the pod can see the others' processes, read their environment and open
files through `/proc/<pid>/root`, and signal them: a compromised sidecar reaches the main
application's secrets and vice versa.

## Example
```yaml
spec:
  shareProcessNamespace: true
```

Use instead: remove it; debug with ephemeral containers targeting one container
(`kubectl debug --target`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path


@rule(
    id="W027",
    name="shared-process-namespace",
    title="Containers share a process namespace",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Remove `shareProcessNamespace: true` from the pod spec.",
)
def shared_process_namespace(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.pod_spec is not None and obj.pod_spec.get("shareProcessNamespace") is True:
        yield Violation(
            pod_path(obj, "shareProcessNamespace"),
            "the pod's containers can see and signal each other's processes",
        )
