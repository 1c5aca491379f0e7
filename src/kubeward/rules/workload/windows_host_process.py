"""## What it does
Flags Windows pods and containers that run as HostProcess containers
(`securityContext.windowsOptions.hostProcess: true`).

## Why is this bad?
A HostProcess container runs directly on the Windows node, with the node's network and
filesystem and, typically, as `NT AUTHORITY\\SYSTEM`: it is administrator access to the node.
Forbidden by the Pod Security Standards from *baseline* up.

## Example
```yaml
securityContext:
  windowsOptions:
    hostProcess: true
    runAsUserName: "NT AUTHORITY\\\\SYSTEM"
```

Use instead: a regular Windows container; node management belongs to node tooling.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context


def _host_process(ctx: object) -> bool:
    if not isinstance(ctx, dict):
        return False
    options = ctx.get("windowsOptions")
    return isinstance(options, dict) and options.get("hostProcess") is True


@rule(
    id="W014",
    name="windows-host-process",
    title="Windows HostProcess container",
    severity=Severity.CRITICAL,
    target=WORKLOADS,
    remediation="Remove `windowsOptions.hostProcess: true`.",
)
def windows_host_process(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if _host_process(pod_security_context(obj)):
        yield Violation(
            pod_path(obj, "securityContext", "windowsOptions", "hostProcess"),
            "the pod runs its containers as HostProcess containers on the node",
        )
    for container in obj.containers():
        if _host_process(container.security_context):
            yield Violation(
                (*container.path, "securityContext", "windowsOptions", "hostProcess"),
                f"{container.label} runs as a HostProcess container on the node",
            )
