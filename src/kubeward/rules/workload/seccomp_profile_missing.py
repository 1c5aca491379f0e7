"""## What it does
Flags containers that run without a seccomp profile: neither the container nor the pod sets
`seccompProfile.type` to `RuntimeDefault` or `Localhost`. This is the Pod Security Standards'
*restricted* seccomp control; Windows pods are exempt. Profiles explicitly set to `Unconfined`
are reported by `W012`.

## Why is this bad?
Kubernetes does not apply the runtime's default seccomp profile unless asked (or unless the
kubelet's `SeccompDefault` is on, which the manifest cannot rely on), so an unset profile
usually means every system call of the node's kernel is reachable from the container.

## Example
```yaml
spec:
  securityContext:
    runAsNonRoot: true      # no seccompProfile
```

Use instead:
```yaml
spec:
  securityContext:
    seccompProfile:
      type: RuntimeDefault
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import is_windows, pod_security_context

_VALID = ("RuntimeDefault", "Localhost")


def _profile_type(ctx: object) -> object:
    if not isinstance(ctx, dict):
        return None
    profile = ctx.get("seccompProfile")
    return profile.get("type") if isinstance(profile, dict) else None


@rule(
    id="W018",
    name="seccomp-profile-missing",
    title="Container runs without a seccomp profile",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
def seccomp_profile_missing(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if is_windows(obj):
        return
    if _profile_type(pod_security_context(obj)) in _VALID:
        return
    for container in obj.containers():
        ctx = container.security_context
        if "seccompProfile" not in ctx or not isinstance(ctx.get("seccompProfile"), dict):
            yield Violation(
                container.path,
                f"{container.label} has no seccomp profile (neither it nor the pod sets one)",
            )
