"""## What it does
Flags containers that add Linux capabilities outside the default set the Pod Security
Standards' *baseline* profile allows (`AUDIT_WRITE`, `CHOWN`, `DAC_OVERRIDE`, `FOWNER`,
`FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`, `SETGID`, `SETPCAP`, `SETUID`,
`SYS_CHROOT`). Capabilities that on their own break isolation (`SYS_ADMIN`, `NET_ADMIN`,
`SYS_PTRACE`, `ALL`, ...) are reported by `W029` instead, as critical.

Names are compared as written, like the Pod Security admission controller does: `cap_chown`
or `CAP_CHOWN` are not in the allowed list.

## Why is this bad?
Each extra capability is kernel privilege the process would not otherwise have: `NET_RAW`
allows spoofing packets, `SYS_TIME` changes the node's clock, `SYS_RESOURCE` overrides
resource limits. Attackers who land in the container inherit them.

## Example
```yaml
securityContext:
  capabilities:
    add: ["NET_RAW", "SYS_TIME"]
```

Use instead: drop all capabilities and add back only what the process needs from the
default set (often nothing, or `NET_BIND_SERVICE`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import (
    BASELINE_CAPABILITIES,
    DANGEROUS_CAPABILITIES,
    capabilities,
    capability_name,
)


@rule(
    id="W007",
    name="added-capabilities",
    title="Container adds capabilities beyond the default set",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove the capabilities from `securityContext.capabilities.add`.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
def added_capabilities(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        added, _ = capabilities(container)
        extra = [
            c
            for c in added
            if c not in BASELINE_CAPABILITIES and capability_name(c) not in DANGEROUS_CAPABILITIES
        ]
        if extra:
            yield Violation(
                (*container.path, "securityContext", "capabilities", "add"),
                f"{container.label} adds {', '.join(extra)}, beyond the default capability set",
            )
