"""## What it does
Flags containers that bind a port of the node: `ports[].hostPort` other than 0, and on a pod with
`hostNetwork: true` every `containerPort` (the API server sets `hostPort` to the container port
on such Pods, for templates when their pods are created, so the Pod Security admission sees a
host port; W004 reports the host network itself).

## Why is this bad?
A host port is reachable from outside the cluster on the node's address, bypassing Services,
Ingress controllers and NetworkPolicies, and it ties the pod to nodes where the port is free.
The Pod Security Standards' *baseline* profile forbids host ports.

## Example
```yaml
ports:
  - containerPort: 8080
    hostPort: 8080
```

Use instead: expose the pod through a Service (a NodePort or LoadBalancer if it must be
reachable from outside).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule


@rule(
    id="W008",
    name="host-port",
    title="Container binds a port of the node",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Remove `hostPort` and expose the pod through a Service.",
)
def host_port(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    host_network = obj.pod_spec is not None and obj.pod_spec.get("hostNetwork") is True
    for container in obj.containers():
        ports = container.raw.get("ports")
        if not isinstance(ports, list):
            continue
        for index, port in enumerate(ports):
            if not isinstance(port, dict):
                continue
            host = port.get("hostPort")
            if _number(host) and host != 0:
                yield Violation(
                    (*container.path, "ports", index, "hostPort"),
                    f"{container.label} binds port {host} of the node",
                )
            elif host_network and _number(port.get("containerPort")):
                yield Violation(
                    (*container.path, "ports", index),
                    f"{container.label} binds port {port['containerPort']} of the node "
                    "(hostNetwork: the API server sets hostPort to the container port)",
                )


def _number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
