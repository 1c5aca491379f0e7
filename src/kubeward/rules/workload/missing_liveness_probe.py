"""## What it does
Flags long-running containers without a `livenessProbe`: regular containers and sidecars (init
containers with `restartPolicy: Always`, which run as long as the pod and take probes since
Kubernetes 1.29). Regular init containers, ephemeral containers and the pods of Jobs and
CronJobs (which run to completion) are skipped. A probe counts when it has an action (`exec`,
`httpGet`, `tcpSocket` or `grpc`); a `startupProbe` only covers the start and does not count.

## Why is this bad?
A hung or half-compromised process that stops serving is not restarted: the service degrades
silently. Liveness probes are also a detection signal (restarts show up in events and
metrics).

## Example
```yaml
containers:
  - name: api
    image: registry.corp.example/api:2.1   # no livenessProbe
```

Use instead: `livenessProbe: {httpGet: {path: /livez, port: http}}`.
"""

from collections.abc import Iterator

from kubeward.model import Container, K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import is_sidecar

RUN_TO_COMPLETION = frozenset({"Job", "CronJob"})
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
"""A probe's action: the API server refuses a probe with none (or more than one)."""


def probed(container: Container, field: str) -> bool:
    """Whether the container has the probe ``field`` with an action: ``{}`` or a probe with
    only timings (``initialDelaySeconds``) checks nothing."""
    probe = container.raw.get(field)
    if type(probe) is not dict:
        return False
    for handler in HANDLERS:  # noqa: SIM110 - a loop, not any(): this runs for every container
        if type(probe.get(handler)) is dict:
            return True
    return False


def serving(container: Container) -> bool:
    """A container that runs as long as the pod: a regular one or a sidecar (an init
    container with ``restartPolicy: Always``, which takes probes like a regular one)."""
    return container.list_name == "containers" or is_sidecar(container)


def long_running(obj: K8sObject) -> bool:
    if obj.kind in RUN_TO_COMPLETION:
        return False
    if obj.kind == "Pod":
        owners = obj.metadata.get("ownerReferences")
        if isinstance(owners, list) and any(
            # a kind that is not a string (a list: unhashable) names no owner kind
            isinstance(o, dict)
            and isinstance(o.get("kind"), str)
            and o["kind"] in RUN_TO_COMPLETION
            for o in owners
        ):
            return False
        restart = (obj.pod_spec or {}).get("restartPolicy")
        return restart in (None, "Always")
    return True


@rule(
    id="W024",
    name="missing-liveness-probe",
    title="Container has no liveness probe",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Add a `livenessProbe` that fails when the process stops working.",
    references=(
        "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/",
        "https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/",
    ),
)
def missing_liveness_probe(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if not long_running(obj):
        return
    for container in obj.containers():
        if serving(container) and not probed(container, "livenessProbe"):
            yield Violation(container.path, f"{container.label} has no liveness probe")
