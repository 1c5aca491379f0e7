"""## What it does
Flags probes and lifecycle hooks that send the kubelet to another host: `httpGet.host` or
`tcpSocket.host` set in a liveness, readiness or startup probe, or in a `postStart`/`preStop`
hook. Forbidden by the Pod Security Standards' *baseline* profile from Kubernetes 1.34.

## Why is this bad?
The kubelet performs probes from the node's network: a `host` pointing elsewhere makes it
connect to arbitrary addresses (the node's loopback services, cloud metadata endpoints, other
internal hosts), a server-side request forgery from the node.

## Example
```yaml
livenessProbe:
  httpGet:
    host: 169.254.169.254
    path: /latest/meta-data/
    port: 80
```

Use instead: leave `host` unset (the pod's IP is used).
"""

from collections.abc import Iterator
from typing import Any

from kubeward.model import K8sObject, Path, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule

_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")


def _hosts(handler: Any, base: Path) -> Iterator[tuple[Path, str]]:
    if not isinstance(handler, dict):
        return
    for action in ("httpGet", "tcpSocket"):
        spec = handler.get(action)
        if isinstance(spec, dict):
            host = spec.get("host")
            if isinstance(host, str) and host:
                yield (*base, action, "host"), host


@rule(
    id="W031",
    name="probe-host-override",
    title="Probe or hook sends the kubelet to another host",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Remove `host` from the probe or lifecycle hook.",
)
def probe_host_override(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        raw = container.raw
        for probe in _PROBES:
            for path, host in _hosts(raw.get(probe), (*container.path, probe)):
                yield Violation(path, f"{container.label}'s {probe} connects to {host}")
        lifecycle = raw.get("lifecycle")
        if isinstance(lifecycle, dict):
            for hook in _HOOKS:
                for path, host in _hosts(lifecycle.get(hook), (*container.path, "lifecycle", hook)):
                    yield Violation(path, f"{container.label}'s {hook} hook connects to {host}")
