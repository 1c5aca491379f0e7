"""## What it does
Flags pods that use the node's network namespace (`hostNetwork: true`).

## Why is this bad?
The pod sees and can bind every network interface of the node: it can sniff node traffic,
reach services listening on the node's loopback (the kubelet's read-only ports, local
proxies, cloud metadata endpoints without hop limits) and bypass NetworkPolicies, which do
not apply to host-network pods. Forbidden by the Pod Security Standards from *baseline* up.

## Example
```yaml
spec:
  hostNetwork: true
```

Use instead: remove `hostNetwork`, expose the pod through a Service.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path


@rule(
    id="W004",
    name="host-network",
    title="Pod uses the host network namespace",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove `hostNetwork: true` and expose the pod through a Service.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
def host_network(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.pod_spec is not None and obj.pod_spec.get("hostNetwork") is True:
        yield Violation(
            pod_path(obj, "hostNetwork"),
            "the pod uses the node's network namespace (NetworkPolicies do not apply to it)",
        )
