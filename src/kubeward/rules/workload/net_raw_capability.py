"""## What it does
Flags containers that keep the `NET_RAW` capability: they drop neither `NET_RAW` nor `ALL`
(container runtimes grant `NET_RAW` by default), or they drop `ALL` and add `NET_RAW` back
(containerd and CRI-O apply `ALL` first, then each named capability). This is the CIS
Kubernetes Benchmark's control 5.2.8 (v1.10).

Spellings are read the way the runtimes use them: a dropped name counts in any case but not
with a `CAP_` prefix (containerd prefixes every name with `CAP_`, so `drop: [CAP_NET_RAW]`
drops nothing there), an added name in any spelling (CRI-O accepts the prefix). Windows pods
(`spec.os.name`, or a `kubernetes.io/os: windows` node selector) have no Linux capabilities
and are skipped. Privileged containers get every capability whatever the lists say: W001
reports them.

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

from kubeward.model import Container, K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import capabilities, capability_name, runs_on_windows


def keeps_net_raw(container: Container) -> bool:
    """Whether the runtime leaves NET_RAW to the container, read as containerd and CRI-O apply
    the lists: ``ALL`` in add, then ``ALL`` in drop, then each added name, then each dropped
    one. So ``drop: [ALL]`` with ``add: [NET_RAW]`` keeps it, and only a drop of ``NET_RAW``
    itself removes what add names. A dropped name counts only in the spelling both runtimes
    honour (any case, no ``CAP_`` prefix: containerd prefixes every name with ``CAP_``, so it
    drops nothing for ``CAP_NET_RAW``); an added name counts in any spelling (CRI-O grants
    ``CAP_NET_RAW``). Privileged containers get every capability whatever the lists say; W001
    reports them, this rule judges the lists."""
    added, dropped = capabilities(container)
    drop = {name.upper() for name in dropped}
    if "NET_RAW" in drop:
        return False
    return "ALL" not in drop or "NET_RAW" in {capability_name(c) for c in added}


@rule(
    id="W028",
    name="net-raw-capability",
    title="Container keeps the NET_RAW capability",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Drop `NET_RAW` (or `ALL`) in `securityContext.capabilities.drop`.",
)
def net_raw_capability(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if runs_on_windows(obj):
        return
    for container in obj.containers():
        if keeps_net_raw(container):
            caps = container.security_context.get("capabilities")
            base = (*container.path, "securityContext")
            yield Violation(
                (*base, "capabilities") if isinstance(caps, dict) else base,
                f"{container.label} keeps NET_RAW (it can forge packets on the node's network)",
            )
