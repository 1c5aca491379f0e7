"""## What it does
Flags pods that set kernel parameters (`securityContext.sysctls`) outside the set the Pod
Security Standards' *baseline* profile allows for the Kubernetes version:
`kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`, `net.ipv4.tcp_syncookies`,
`net.ipv4.ping_group_range`, `net.ipv4.ip_unprivileged_port_start`; from 1.27 also
`net.ipv4.ip_local_reserved_ports`; from 1.29 `net.ipv4.tcp_keepalive_time`,
`net.ipv4.tcp_fin_timeout`, `net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`;
from 1.32 `net.ipv4.tcp_rmem` and `net.ipv4.tcp_wmem`.

## Why is this bad?
Other sysctls are not namespaced or not isolated enough: they change kernel behaviour for the
whole node (memory, scheduling, networking of other pods) or open denial-of-service and
privilege paths. The kubelet refuses them unless explicitly allowed on the node.

## Example
```yaml
securityContext:
  sysctls:
    - name: kernel.msgmax
      value: "65536"
```

Use instead: tune the node itself, or use only the safe sysctls.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context

_SAFE = {
    (1, 0): frozenset(
        {
            "kernel.shm_rmid_forced",
            "net.ipv4.ip_local_port_range",
            "net.ipv4.tcp_syncookies",
            "net.ipv4.ping_group_range",
            "net.ipv4.ip_unprivileged_port_start",
        }
    ),
    (1, 27): frozenset({"net.ipv4.ip_local_reserved_ports"}),
    (1, 29): frozenset(
        {
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        }
    ),
    (1, 32): frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}),
}


def safe_sysctls(version: tuple[int, int]) -> frozenset[str]:
    allowed: frozenset[str] = frozenset()
    for since, names in _SAFE.items():
        if version >= since:
            allowed |= names
    return allowed


@rule(
    id="W013",
    name="unsafe-sysctls",
    title="Pod sets kernel parameters that are not namespaced safely",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove the unsafe sysctls from `securityContext.sysctls`.",
)
def unsafe_sysctls(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    sysctls = pod_security_context(obj).get("sysctls")
    if not isinstance(sysctls, list):
        return
    allowed = safe_sysctls(params.kubernetes_version)
    for index, sysctl in enumerate(sysctls):
        name = sysctl.get("name") if isinstance(sysctl, dict) else None
        if isinstance(name, str) and name not in allowed:
            yield Violation(
                pod_path(obj, "securityContext", "sysctls", index, "name"),
                f"the pod sets the unsafe sysctl {name}",
            )
