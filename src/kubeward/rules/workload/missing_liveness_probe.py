"""## What it does
Flags long-running containers without a `livenessProbe`. Init and ephemeral containers and the
pods of Jobs and CronJobs (which run to completion) are skipped.

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

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule

RUN_TO_COMPLETION = frozenset({"Job", "CronJob"})


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
)
def missing_liveness_probe(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if not long_running(obj):
        return
    for container in obj.containers():
        if container.list_name == "containers" and not container.raw.get("livenessProbe"):
            yield Violation(container.path, f"{container.label} has no liveness probe")
