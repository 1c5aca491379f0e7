"""## What it does
Flags containers, init containers and ephemeral containers whose root filesystem is writable
(`readOnlyRootFilesystem` is not `true`). The field exists only on containers: the pod's
security context has none to inherit. Windows pods are skipped (Windows containers do not
support it): `spec.os.name: windows`, or a `kubernetes.io/os: windows` node selector (the
older way to pin pods to Windows nodes). A required node affinity on that label is not read,
so such pods are still judged.

## Why is this bad?
A writable root filesystem lets an attacker drop tools, modify binaries and configuration, or
persist a backdoor that survives until the pod is replaced. Applications that need scratch
space can mount an `emptyDir` at the paths they write to.

## Example
```yaml
securityContext:
  allowPrivilegeEscalation: false    # readOnlyRootFilesystem unset
```

Use instead:
```yaml
securityContext:
  readOnlyRootFilesystem: true
volumeMounts:
  - {name: tmp, mountPath: /tmp}    # with an emptyDir volume "tmp"
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import runs_on_windows


@rule(
    id="W021",
    name="writable-root-filesystem",
    title="Container root filesystem is writable",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation=(
        "Set `securityContext.readOnlyRootFilesystem: true`; mount an emptyDir where it writes."
    ),
    references=("https://kubernetes.io/docs/concepts/storage/windows-storage/",),
)
def writable_root_filesystem(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if runs_on_windows(obj):
        return
    for container in obj.containers():
        value = container.security_context.get("readOnlyRootFilesystem")
        if value is not True:
            base = (*container.path, "securityContext")
            yield Violation(
                (*base, "readOnlyRootFilesystem") if value is not None else base,
                f"{container.label} can write to its root filesystem",
            )
