"""## What it does
Flags containers and init containers without a memory limit or a CPU limit
(`resources.limits.memory`, `resources.limits.cpu`). Ephemeral debug containers cannot set
resources and are skipped.

## Why is this bad?
Without limits one compromised or misbehaving container can take all the memory or CPU of the
node: a denial of service for every other pod there, and the kubelet may evict neighbours
first. A memory limit also bounds the damage of memory-exhaustion attacks.

## Configuration
Peers disagree about CPU limits: Polaris and Kubescape ask for them, while many operators
leave them off on purpose because CFS quotas throttle latency-sensitive services. kubeward
requires both by default (the safe reading); `requiredLimits: [memory]` in `kubeward.yaml`
drops the CPU requirement and `requiredLimits: []` turns the rule off (reported as skipped).

## Example
```yaml
resources:
  requests: {cpu: 100m, memory: 128Mi}
```

Use instead:
```yaml
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: 500m, memory: 256Mi}
```
"""

from collections.abc import Iterable, Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule

_QUANTITY_TYPES = (str, int, float)


def missing_resources(raw: dict[str, object], section: str, names: Iterable[str]) -> list[str]:
    """Which of ``names`` the container's ``resources.<section>`` does not set.

    A value that is no quantity (a list, a mapping, a boolean: an object error already) sets
    nothing, as the API server would not accept it.
    """
    resources = raw.get("resources")
    values = resources.get(section) if isinstance(resources, dict) else None
    values = values if isinstance(values, dict) else {}
    return [
        name
        for name in names
        if type(value := values.get(name)) not in _QUANTITY_TYPES or value == ""
    ]


def _needs_required_limits(params: RuleParams) -> str | None:
    return None if params.required_limits else "requiredLimits is empty in kubeward.yaml"


@rule(
    id="W022",
    name="missing-resource-limits",
    title="Container has no resource limits",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Set `resources.limits.memory` and `resources.limits.cpu`.",
    skip_unless=_needs_required_limits,
)
def missing_resource_limits(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        if container.list_name == "ephemeralContainers":
            continue
        missing = missing_resources(container.raw, "limits", params.required_limits)
        if missing:
            resources = container.raw.get("resources")
            yield Violation(
                (*container.path, "resources") if isinstance(resources, dict) else container.path,
                f"{container.label} has no {' or '.join(missing)} limit",
            )
