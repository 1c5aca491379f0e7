"""## What it does
Flags containers that keep the `NET_RAW` capability: they drop neither `NET_RAW` nor `ALL`
(container runtimes grant `NET_RAW` by default). This is the CIS Kubernetes Benchmark's
control 5.2.8 (v1.10).

## Why is this bad?
Raw sockets let a compromised container craft arbitrary packets: ARP and DNS spoofing of
other pods on the node, and several kernel vulnerabilities reachable only with raw sockets.
Few applications need it (`ping` works without it on current kernels).

## Example
```yaml
securityContext:
  capabilities:
    drop: ["SYS_ADMIN"]
```

Use instead: `capabilities: {drop: ["ALL"]}` (or at least `drop: ["NET_RAW"]`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import capabilities, capability_name, is_windows


@rule(
    id="W028",
    name="net-raw-capability",
    title="Container keeps the NET_RAW capability",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Drop `NET_RAW` (or `ALL`) in `securityContext.capabilities.drop`.",
)
def net_raw_capability(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if is_windows(obj):
        return
    for container in obj.containers():
        _, dropped = capabilities(container)
        names = {capability_name(c) for c in dropped}
        if "ALL" not in names and "NET_RAW" not in names:
            caps = container.security_context.get("capabilities")
            base = (*container.path, "securityContext")
            yield Violation(
                (*base, "capabilities") if isinstance(caps, dict) else base,
                f"{container.label} keeps NET_RAW (it can forge packets on the node's network)",
            )
