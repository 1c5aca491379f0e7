"""## What it does
Flags containers that add a capability that on its own defeats container isolation:
`ALL`, `SYS_ADMIN`, `SYS_MODULE`, `SYS_PTRACE`, `SYS_RAWIO`, `SYS_BOOT`, `DAC_READ_SEARCH`,
`NET_ADMIN`, `BPF`, `PERFMON`, `MAC_ADMIN`, `MAC_OVERRIDE` (with or without the `CAP_` prefix,
in any case).

## Why is this bad?
These are the capabilities behind known container escapes: `SYS_ADMIN` mounts filesystems and
abuses cgroup release agents, `SYS_MODULE` loads kernel modules, `SYS_PTRACE` injects code
into host processes when combined with `hostPID`, `DAC_READ_SEARCH` reads any file through
`open_by_handle_at` ("shocker"), `NET_ADMIN` rewrites the node's routing and firewall when on
the host network, `BPF` and `PERFMON` reach into the kernel.

## Example
```yaml
securityContext:
  capabilities:
    add: ["SYS_ADMIN"]
```

Use instead: find the narrower mechanism (a CSI driver instead of mounts, a sidecar with the
Kubernetes API instead of ptrace), or isolate the workload on dedicated nodes.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import DANGEROUS_CAPABILITIES, capabilities, capability_name


@rule(
    id="W029",
    name="dangerous-capabilities",
    title="Container adds a capability that breaks isolation",
    severity=Severity.CRITICAL,
    target=WORKLOADS,
    remediation="Remove the capability from `securityContext.capabilities.add`.",
)
def dangerous_capabilities(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        added, _ = capabilities(container)
        dangerous = [c for c in added if capability_name(c) in DANGEROUS_CAPABILITIES]
        if dangerous:
            yield Violation(
                (*container.path, "securityContext", "capabilities", "add"),
                f"{container.label} adds {', '.join(dangerous)}, enough to escape the container",
            )
