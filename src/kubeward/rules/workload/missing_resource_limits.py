"""## What it does
Flags containers and init containers without a memory limit or a CPU limit
(`resources.limits.memory`, `resources.limits.cpu`). Ephemeral debug containers cannot set
resources and are skipped.

## Why is this bad?
Without limits one compromised or misbehaving container can take all the memory or CPU of the
node: a denial of service for every other pod there, and the kubelet may evict neighbours
first. A memory limit also bounds the damage of memory-exhaustion attacks. (Some teams leave
CPU limits off on purpose to avoid throttling; ignore this rule for CPU with an exception if
that is your policy.)

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

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule


def missing_resources(raw: dict[str, object], section: str) -> list[str]:
    resources = raw.get("resources")
    values = resources.get(section) if isinstance(resources, dict) else None
    values = values if isinstance(values, dict) else {}
    return [name for name in ("memory", "cpu") if values.get(name) in (None, "")]


@rule(
    id="W022",
    name="missing-resource-limits",
    title="Container has no resource limits",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Set `resources.limits.memory` and `resources.limits.cpu`.",
)
def missing_resource_limits(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        if container.list_name == "ephemeralContainers":
            continue
        missing = missing_resources(container.raw, "limits")
        if missing:
            resources = container.raw.get("resources")
            yield Violation(
                (*container.path, "resources") if isinstance(resources, dict) else container.path,
                f"{container.label} has no {' or '.join(missing)} limit",
            )
