"""## What it does
Flags Namespace objects that have workloads in the scan (objects with a pod spec in that
namespace, `PodTemplate`s aside) but no network policy in it.

Any of these counts as a network policy of the namespace: a Kubernetes `NetworkPolicy`
(`networking.k8s.io`), a Calico `NetworkPolicy` (`projectcalico.org`,
`crd.projectcalico.org`) or a `CiliumNetworkPolicy`. Whether the policies actually select
every workload is judged per workload by N003. Namespaces without workloads in the scan are
not flagged, and neither is a namespace whose Namespace object is not in the scan.

## Why is this bad?
Kubernetes networking is flat: until a NetworkPolicy selects a pod, every pod and every
workload of every namespace can connect to it, and it can connect anywhere. One compromised pod
can then reach databases, internal admin endpoints and cloud metadata services of all
applications. A default-deny policy per namespace is the baseline that per-application
policies open up from.

## Example
```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
kind: Deployment
metadata: {name: web, namespace: shop}
# ... and no NetworkPolicy in namespace shop
```

Use instead: add a default-deny policy to the namespace, then allow the flows each workload
needs:
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
```
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.model.objects import api_group
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules.namespaces._network_policy import K8S_GROUPS

#: (API group, kind) of the namespaced policy objects that count.
POLICY_KINDS = frozenset(
    {
        *((group, "NetworkPolicy") for group in K8S_GROUPS),
        ("projectcalico.org", "NetworkPolicy"),
        ("crd.projectcalico.org", "NetworkPolicy"),
        ("cilium.io", "CiliumNetworkPolicy"),
    }
)


@dataclass(frozen=True, slots=True)
class _Coverage:
    workloads: Counter[str]
    with_policy: frozenset[str]


def _build(inventory: Inventory) -> _Coverage:
    workloads: Counter[str] = Counter(
        o.namespace for o in inventory.workloads if o.namespace and o.kind != "PodTemplate"
    )
    with_policy = frozenset(
        o.namespace
        for o in inventory.of_kind("NetworkPolicy", "CiliumNetworkPolicy")
        if o.namespace and (api_group(o.api_version), o.kind) in POLICY_KINDS
    )
    return _Coverage(workloads, with_policy)


@inventory_rule(
    id="N002",
    name="namespace-without-network-policy",
    title="Namespace with workloads has no network policy",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"Namespace"})),
    remediation=(
        "Add a default-deny NetworkPolicy to the namespace and allow only the flows its "
        "workloads need."
    ),
    reads={"NetworkPolicy"},
)
def namespace_without_network_policy(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    coverage = inventory.derived(_build)
    count = coverage.workloads.get(obj.name, 0)
    if count == 0 or obj.name in coverage.with_policy:
        return
    plural = "workload" if count == 1 else "workloads"
    yield Violation(
        ("metadata", "name"),
        f'namespace "{obj.name}" has {count} {plural} in the scan and no NetworkPolicy: '
        "its pods accept connections from anywhere and can connect anywhere",
    )
