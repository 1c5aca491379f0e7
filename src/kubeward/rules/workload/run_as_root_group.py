"""## What it does
Flags pods and containers that run with the root group: `runAsGroup: 0`, `fsGroup: 0` or group
0 in `supplementalGroups`. This is the Pod Security Standards' optional "Non-root groups"
control. A pod-level `runAsGroup: 0` is reported even when every container sets its own:
containers added later (ephemeral debug containers) inherit it.

## Why is this bad?
Files readable or writable by group `root` (many system files, and files in images built
without care) become accessible; volumes with `fsGroup: 0` are chowned to root's group.

## Example
```yaml
securityContext:
  runAsUser: 10001
  runAsGroup: 0
```

Use instead: a non-zero group (e.g. `runAsGroup: 10001`, `fsGroup: 10001`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context


@rule(
    id="W026",
    name="run-as-root-group",
    title="Pod or container runs with the root group",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Use non-zero `runAsGroup`, `fsGroup` and `supplementalGroups`.",
)
def run_as_root_group(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    pod_ctx = pod_security_context(obj)
    for field in ("runAsGroup", "fsGroup"):
        if pod_ctx.get(field) == 0:
            yield Violation(pod_path(obj, "securityContext", field), f"the pod sets {field}: 0")
    groups = pod_ctx.get("supplementalGroups")
    if isinstance(groups, list):
        for index, group in enumerate(groups):
            if group == 0:
                yield Violation(
                    pod_path(obj, "securityContext", "supplementalGroups", index),
                    "the pod adds the root group to supplementalGroups",
                )
    for container in obj.containers():
        if container.security_context.get("runAsGroup") == 0:
            yield Violation(
                (*container.path, "securityContext", "runAsGroup"),
                f"{container.label} sets runAsGroup: 0",
            )
