"""## What it does
Flags pods and containers that run without AppArmor confinement: `appArmorProfile.type` other
than `RuntimeDefault` or `Localhost` (i.e. `Unconfined`), on the pod or a container, or a
`container.apparmor.security.beta.kubernetes.io/<container>` annotation whose value is not
`runtime/default` or `localhost/<profile>` (e.g. `unconfined`).

## Why is this bad?
On nodes with AppArmor, the runtime's default profile blocks writes to `/proc` and `/sys`
internals, mounts and other escape primitives. Turning it off removes one of the few
kernel-enforced layers between a compromised process and the node. Forbidden by the Pod
Security Standards from *baseline* up.

## Example
```yaml
securityContext:
  appArmorProfile:
    type: Unconfined
```

Use instead: leave the profile unset (the runtime default applies) or use
`type: Localhost` with a reviewed profile.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import (
    pod_annotation_path,
    pod_annotations,
    pod_path,
    pod_security_context,
)

_ALLOWED_TYPES = ("RuntimeDefault", "Localhost")
_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _bad_type(ctx: object) -> str | None:
    if not isinstance(ctx, dict):
        return None
    profile = ctx.get("appArmorProfile")
    if not isinstance(profile, dict):
        return None
    kind = profile.get("type")
    return None if kind in _ALLOWED_TYPES else shown(kind)


@rule(
    id="W009",
    name="apparmor-unconfined",
    title="AppArmor confinement is turned off",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove the Unconfined AppArmor profile; use the runtime default or Localhost.",
)
def apparmor_unconfined(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    bad = _bad_type(pod_security_context(obj))
    if bad is not None:
        yield Violation(
            pod_path(obj, "securityContext", "appArmorProfile", "type"),
            f"the pod sets AppArmor profile type {bad}",
        )
    for container in obj.containers():
        bad = _bad_type(container.security_context)
        if bad is not None:
            yield Violation(
                (*container.path, "securityContext", "appArmorProfile", "type"),
                f"{container.label} sets AppArmor profile type {bad}",
            )
    for key, value in pod_annotations(obj).items():
        if not key.startswith(_ANNOTATION_PREFIX):
            continue
        text = value if isinstance(value, str) else ""
        if text and text != "runtime/default" and not text.startswith("localhost/"):
            yield Violation(
                pod_annotation_path(obj, key),
                f"annotation {key} sets AppArmor profile {text}",
            )
