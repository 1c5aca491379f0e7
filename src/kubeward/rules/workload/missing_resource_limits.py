"""## What it does
Flags containers and init containers (regular ones and sidecars) without a memory limit or a
CPU limit (`resources.limits.memory`, `resources.limits.cpu`). Ephemeral debug containers cannot
set resources and are skipped.

A limit of `0` (`"0"`, `0Mi`) is no limit: the kubelet sets no bound for it. A limit the pod
sets for itself (`spec.resources.limits`, PodLevelResources, on by default from Kubernetes 1.34;
cpu and memory only) bounds every container of the pod, so they need none of their own.
Extended resources (`nvidia.com/gpu`) are not CPU or memory and satisfy nothing.

## LimitRange defaults
A LimitRange's `default` in the namespace is filled into containers without limits when the
pod is admitted. kubeward does not credit it, even when the LimitRange is part of the scan:
the rule judges what the workload declares (the same manifest may be deployed where the
LimitRange is missing or different), runs the same at admission and in the exported
ValidatingAdmissionPolicies (which see one object), and a pod read from a live cluster already
carries the filled-in values. Teams that rely on LimitRange defaults on purpose waive the rule
for those namespaces with an exception in `kubeward.yaml`.

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

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule

_QUANTITY_TYPES = (str, int, float)
_NONZERO_DIGITS = frozenset("123456789")
POD_LEVEL_RESOURCES = frozenset({"cpu", "memory"})
"""What ``spec.resources`` may set (besides hugepages): the PodLevelResources feature."""
SECTIONS = ("requests", "limits")
POD_LEVEL_SINCE = (1, 34)
"""PodLevelResources is beta, on by default, from 1.34; before, the API server drops the field."""


def _section(resources: object, section: str) -> Mapping[str, Any]:
    values = resources.get(section) if isinstance(resources, dict) else None
    return values if isinstance(values, dict) else {}


def _declared(values: Mapping[str, Any], name: str) -> bool:
    """Whether ``values`` names ``name`` with a quantity: a list, a mapping or a boolean (an
    object error already) names nothing, as the API server would not accept it."""
    value = values.get(name)
    return type(value) in _QUANTITY_TYPES and value != ""


def positive(value: object) -> bool:
    """A quantity above zero. A limit of 0 is no limit (the kubelet sets no cgroup bound) and a
    request of 0 no request (the QoS class counts only requests above zero), so 0, ``"0"``,
    ``"0Mi"`` or ``"0.0"`` set nothing. Negative quantities are refused by the API server."""
    if type(value) in (int, float):
        return value > 0  # type: ignore[operator]
    if type(value) is not str:
        return False
    if value[:1] in _NONZERO_DIGITS:  # "500m", "2Gi": the common case, decided at once
        return True
    number = value.strip()
    if number.startswith("-"):
        return False
    digits = number.lstrip("+")
    mantissa = digits[: len(digits) - len(digits.lstrip("0123456789."))]
    return any(ch in "123456789" for ch in mantissa)


def effective(resources: object, section: str, name: str) -> bool:
    """Whether ``resources`` bounds ``name`` in ``section`` (``limits`` or ``requests``). A
    request left out is defaulted to the limit (on containers and, with pod-level resources,
    on the pod), so an absent request is judged by the limit."""
    if type(resources) is not dict:
        return False
    values = resources.get(section)
    if section == "requests" and not (type(values) is dict and _declared(values, name)):
        values = resources.get("limits")
    return type(values) is dict and _declared(values, name) and positive(values[name])


def pod_level(obj: K8sObject, params: RuleParams, section: str, name: str) -> bool:
    """Whether the pod's own ``spec.resources`` (PodLevelResources) bounds ``name``: every
    container then shares that bound, so none of them needs its own."""
    if params.kubernetes_version < POD_LEVEL_SINCE or name not in POD_LEVEL_RESOURCES:
        return False
    spec = obj.pod_spec or {}
    resources = spec.get("resources")
    if (
        section == "requests"
        and not _declared(_section(resources, "requests"), name)
        and _section(resources, "limits")
    ):
        # With pod-level limits, the API server defaults a pod-level request the pod leaves
        # out to the containers' aggregated requests when any container names the resource,
        # else to the pod-level limit (k8s.io/kubernetes pkg/apis/core/v1 defaultPodRequests).
        naming = [
            c.raw.get("resources")
            for c in obj.containers()
            if c.list_name != "ephemeralContainers"
            and any(_declared(_section(c.raw.get("resources"), s), name) for s in SECTIONS)
        ]
        if naming:
            return any(effective(r, "requests", name) for r in naming)
    return effective(resources, section, name)


def missing_resources(
    obj: K8sObject, raw: Mapping[str, Any], section: str, names: Iterable[str], params: RuleParams
) -> list[str]:
    """Which of ``names`` neither the container's ``resources`` nor the pod's bound."""
    return [
        name
        for name in names
        if not effective(raw.get("resources"), section, name)
        and not pod_level(obj, params, section, name)
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
    references=(
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        "https://kubernetes.io/docs/tasks/configure-pod-container/assign-pod-level-resources/",
        "https://kubernetes.io/docs/concepts/policy/limit-range/",
    ),
)
def missing_resource_limits(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        if container.list_name == "ephemeralContainers":
            continue
        missing = missing_resources(obj, container.raw, "limits", params.required_limits, params)
        if missing:
            resources = container.raw.get("resources")
            yield Violation(
                (*container.path, "resources") if isinstance(resources, dict) else container.path,
                f"{container.label} has no {' or '.join(missing)} limit",
            )
