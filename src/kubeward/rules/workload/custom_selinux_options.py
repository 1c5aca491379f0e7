"""## What it does
Flags SELinux options that the Pod Security Standards' *baseline* profile forbids, on the pod
or any container: a `type` other than `container_t`, `container_init_t`, `container_kvm_t` (and
`container_engine_t` from Kubernetes 1.31), or any `user` or `role`.

## Why is this bad?
On SELinux nodes the label decides what the container's processes may touch. A custom type
such as `spc_t` ("super privileged container") or `unconfined_t` lifts that confinement; a
custom user or role changes which policy applies at all.

## Example
```yaml
securityContext:
  seLinuxOptions:
    type: spc_t
```

Use instead: leave `seLinuxOptions` unset, or set only `level` (MCS categories).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Path, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context

_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_TYPES_1_31 = _TYPES | {"container_engine_t"}


def _problems(ctx: object, allowed: frozenset[str], base: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(ctx, dict):
        return
    options = ctx.get("seLinuxOptions")
    if not isinstance(options, dict):
        return
    kind = options.get("type") or ""
    if not isinstance(kind, str):
        # a list or a number (a shape error): not one of the allowed types, and not printed
        yield (*base, "seLinuxOptions", "type"), "an SELinux type that is not a string"
    elif kind not in allowed:
        yield (*base, "seLinuxOptions", "type"), f"SELinux type {kind}"
    for field in ("user", "role"):
        if options.get(field):
            yield (*base, "seLinuxOptions", field), f"a custom SELinux {field}"


@rule(
    id="W010",
    name="custom-selinux-options",
    title="Custom SELinux options weaken confinement",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove the SELinux type, user and role overrides from `seLinuxOptions`.",
)
def custom_selinux_options(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    allowed = _TYPES_1_31 if params.kubernetes_version >= (1, 31) else _TYPES
    for path, what in _problems(
        pod_security_context(obj), allowed, pod_path(obj, "securityContext")
    ):
        yield Violation(path, f"the pod sets {what}")
    for container in obj.containers():
        base = (*container.path, "securityContext")
        for path, what in _problems(container.security_context, allowed, base):
            yield Violation(path, f"{container.label} sets {what}")
