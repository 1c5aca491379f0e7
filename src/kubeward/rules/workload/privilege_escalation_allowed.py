"""## What it does
Flags containers that do not set `securityContext.allowPrivilegeEscalation: false`.

Unset counts as allowed: that is the kernel's default (`no_new_privs` is off), and it is how
the Pod Security Standards' *restricted* profile reads it. Windows pods (`spec.os.name:
windows`) are exempt, as in the standard since Kubernetes 1.25.

## Why is this bad?
Without `no_new_privs`, a process can gain privileges through setuid/setgid binaries or file
capabilities in the image (`sudo`, `su`, `ping` on old images), turning a foothold as an
unprivileged user into root inside the container.

## Example
```yaml
securityContext:
  runAsNonRoot: true        # allowPrivilegeEscalation unset
```

Use instead: `allowPrivilegeEscalation: false` on every container.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import is_windows


@rule(
    id="W015",
    name="privilege-escalation-allowed",
    title="Container allows privilege escalation",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Set `securityContext.allowPrivilegeEscalation: false` on every container.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
def privilege_escalation_allowed(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if is_windows(obj):
        return
    for container in obj.containers():
        value = container.security_context.get("allowPrivilegeEscalation")
        if value is not False:
            why = "allows" if value is True else "does not forbid"
            path = (*container.path, "securityContext")
            yield Violation(
                (*path, "allowPrivilegeEscalation") if value is not None else path,
                f"{container.label} {why} privilege escalation",
            )
