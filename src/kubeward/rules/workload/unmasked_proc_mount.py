"""## What it does
Flags containers that set `securityContext.procMount` to anything but `Default` (i.e.
`Unmasked`).

The Pod Security Standards' *baseline* profile allows `Unmasked` for pods in their own user
namespace (`hostUsers: false`) from Kubernetes 1.35; *restricted* never does. kubeward flags
it in both cases and says so in the message.

## Why is this bad?
The default proc mount masks and makes read-only the parts of `/proc` that expose the node
(`/proc/kcore`, `/proc/sysrq-trigger`, `/proc/sys`, ...). An unmasked `/proc` hands those to the
container.

## Example
```yaml
securityContext:
  procMount: Unmasked
```

Use instead: remove `procMount`.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import user_namespaced


@rule(
    id="W011",
    name="unmasked-proc-mount",
    title="Container uses an unmasked /proc",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove `securityContext.procMount` (the default masks /proc).",
)
def unmasked_proc_mount(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    note = ""
    if user_namespaced(obj):
        note = " (allowed by the baseline profile in a user namespace, not by restricted)"
    for container in obj.containers():
        mount = container.security_context.get("procMount")
        if mount is not None and mount != "Default":
            yield Violation(
                (*container.path, "securityContext", "procMount"),
                f"{container.label} sets procMount {shown(mount)}{note}",
            )
