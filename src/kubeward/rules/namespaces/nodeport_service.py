"""## What it does
Flags Services of `type: NodePort`.

A `LoadBalancer` Service also allocates node ports (unless it sets
`allocateLoadBalancerNodePorts: false`), since most cloud load balancers forward to them; it is
not flagged here, because the load balancer is the intended entry point and N007 judges who
may reach it, but the node ports are still reachable wherever the nodes are. (ServiceSpec API:
`allocateLoadBalancerNodePorts` "defaults to true"; "if the caller requests specific NodePorts
(by specifying a value), those requests will be respected, regardless of this field".)

## Why is this bad?
A NodePort Service opens its port (30000-32767 by default) on every node of the cluster, on
all of the node's addresses, and forwards it to the pods. Anything that can reach any node,
often a whole VPC, other tenants or the internet when nodes have public IPs, can reach the
service, bypassing the ingress controller, its TLS, authentication and WAF. Node firewalls
rarely track which ports Kubernetes opened.

## Example
```yaml
apiVersion: v1
kind: Service
metadata: {name: admin, namespace: shop}
spec:
  type: NodePort
  ports:
    - {port: 8080, nodePort: 30080}
```

Use instead: keep the Service `ClusterIP` (the default) and expose it through an Ingress or a
Gateway, or through a `LoadBalancer` with `loadBalancerSourceRanges`.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.model.objects import api_group
from kubeward.rules._base import RuleParams, Target, rule


def _node_ports(spec: dict[str, object]) -> str:
    ports = spec.get("ports")
    items = [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []
    fixed = [str(p["nodePort"]) for p in items if isinstance(p.get("nodePort"), int)]
    allocated = len(items) - len(fixed)
    parts = []
    if fixed:
        parts.append(f"node port{'s' if len(fixed) > 1 else ''} {', '.join(fixed)}")
    if allocated or not fixed:
        parts.append(f"{allocated or 'an'} allocated node port{'s' if allocated > 1 else ''}")
    return " and ".join(parts)


@rule(
    id="N006",
    name="nodeport-service",
    title="Service is exposed on every node's port",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"Service"})),
    remediation="Use a ClusterIP Service behind an Ingress or Gateway instead of a NodePort.",
)
def nodeport_service(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    spec = obj.raw.get("spec")
    if api_group(obj.api_version) != "" or not isinstance(spec, dict):
        return
    if spec.get("type") == "NodePort":
        yield Violation(
            ("spec", "type"),
            f"type NodePort opens {_node_ports(spec)} on every node, reachable by anything that "
            "can reach a node",
        )
