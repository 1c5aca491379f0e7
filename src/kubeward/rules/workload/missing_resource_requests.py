"""## What it does
Flags containers and init containers (regular ones and sidecars) without a memory request or
a CPU request (`resources.requests.memory`, `resources.requests.cpu`). When only limits are set,
Kubernetes copies them into requests, so a container with both limits is not flagged.
Ephemeral containers are skipped.

A request of `0` is no request (the QoS class counts only requests above zero), and a limit of
`0` copied into an absent request gives one of `0`. A request the pod sets for itself
(`spec.resources.requests`, or `spec.resources.limits` that it defaults to; PodLevelResources,
on by default from Kubernetes 1.34; cpu and memory only) covers every container. A LimitRange's
`defaultRequest` is not credited, for the reasons given on W022's page.

## Why is this bad?
Without requests the scheduler cannot place the pod sensibly, the pod lands in the
`BestEffort` quality-of-service class and is the first to be evicted or starved under
pressure — an easy lever for noisy-neighbour denial of service.

## Configuration
`requiredRequests` in `kubeward.yaml` lists the resources to require (default `[memory, cpu]`);
`[]` turns the rule off (reported as skipped).

## Example
```yaml
resources: {}
```

Use instead: `resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}`.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules.workload.missing_resource_limits import missing_resources


def _needs_required_requests(params: RuleParams) -> str | None:
    return None if params.required_requests else "requiredRequests is empty in kubeward.yaml"


@rule(
    id="W023",
    name="missing-resource-requests",
    title="Container has no resource requests",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Set `resources.requests.memory` and `resources.requests.cpu`.",
    skip_unless=_needs_required_requests,
    references=(
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        "https://kubernetes.io/docs/tasks/configure-pod-container/assign-pod-level-resources/",
    ),
)
def missing_resource_requests(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        if container.list_name == "ephemeralContainers":
            continue
        missing = missing_resources(
            obj, container.raw, "requests", params.required_requests, params
        )
        if missing:
            resources = container.raw.get("resources")
            yield Violation(
                (*container.path, "resources") if isinstance(resources, dict) else container.path,
                f"{container.label} has no {' or '.join(missing)} request",
            )
