"""## What it does
Flags long-running containers without a `readinessProbe`: regular containers and sidecars (init
containers with `restartPolicy: Always`, which run as long as the pod and take probes since
Kubernetes 1.29). Regular init containers, ephemeral containers and the pods of Jobs and
CronJobs (which run to completion) are skipped. A probe counts when it has an action (`exec`,
`httpGet`, `tcpSocket` or `grpc`); a `startupProbe` only covers the start and does not count.

## Why is this bad?
Without readiness, traffic reaches pods that are still starting or already failing, and a
rollout of a broken version proceeds instead of stopping — availability problems that often
turn into rushed, unsafe fixes.

## Example
```yaml
containers:
  - name: web
    image: registry.corp.example/web:1.4   # no readinessProbe
```

Use instead: `readinessProbe: {httpGet: {path: /healthz, port: http}}`.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules.workload.missing_liveness_probe import long_running, probed, serving


@rule(
    id="W025",
    name="missing-readiness-probe",
    title="Container has no readiness probe",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Add a `readinessProbe` that passes only when the container can serve.",
    references=(
        "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/",
        "https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/",
    ),
)
def missing_readiness_probe(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if not long_running(obj):
        return
    for container in obj.containers():
        if serving(container) and not probed(container, "readinessProbe"):
            yield Violation(container.path, f"{container.label} has no readiness probe")
