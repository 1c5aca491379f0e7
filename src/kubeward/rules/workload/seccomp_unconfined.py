"""## What it does
Flags pods and containers that explicitly turn seccomp off: `seccompProfile.type` other than
`RuntimeDefault` or `Localhost` (i.e. `Unconfined`).

Pods that set no profile at all are reported by `W018`.

## Why is this bad?
The runtime's default seccomp profile blocks dozens of system calls used in kernel exploits
and container escapes (`unshare`, `keyctl`, `bpf`, `ptrace` on some setups...). Unconfined
exposes the whole system-call surface of the node's kernel. Forbidden by the Pod Security
Standards from *baseline* up.

## Example
```yaml
securityContext:
  seccompProfile:
    type: Unconfined
```

Use instead: `seccompProfile: {type: RuntimeDefault}`.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context

VALID_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def bad_seccomp(ctx: object) -> str | None:
    """The profile type when it is set to something other than RuntimeDefault/Localhost."""
    if not isinstance(ctx, dict):
        return None
    profile = ctx.get("seccompProfile")
    if not isinstance(profile, dict):
        return None
    kind = profile.get("type")
    return None if kind in VALID_SECCOMP_TYPES else shown(kind)


@rule(
    id="W012",
    name="seccomp-unconfined",
    title="Seccomp is turned off",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Set `seccompProfile.type` to `RuntimeDefault` (or a reviewed Localhost profile).",
)
def seccomp_unconfined(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    bad = bad_seccomp(pod_security_context(obj))
    if bad is not None:
        yield Violation(
            pod_path(obj, "securityContext", "seccompProfile", "type"),
            f"the pod sets seccomp profile type {bad}",
        )
    for container in obj.containers():
        bad = bad_seccomp(container.security_context)
        if bad is not None:
            yield Violation(
                (*container.path, "securityContext", "seccompProfile", "type"),
                f"{container.label} sets seccomp profile type {bad}",
            )
