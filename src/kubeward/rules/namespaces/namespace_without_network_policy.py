"""## What it does
Flags Namespace objects that have workloads in the scan (objects with a pod spec in that
namespace, `PodTemplate`s aside) but no network policy in it. A namespace is the one in
`metadata.namespace`, or for objects without one the deploy-time namespace (`--namespace`).
A workload that another workload of the scan controls (an `ownerReferences` entry with
`controller: true` and that workload's uid: a dump's ReplicaSets and Pods) is counted once,
as its controller.

Any of these counts as a network policy of the namespace, whatever it selects: a Kubernetes
`NetworkPolicy` (`networking.k8s.io`), a Calico `NetworkPolicy` (`projectcalico.org`,
`crd.projectcalico.org`) or a `CiliumNetworkPolicy`. Whether the policies actually select
every workload is judged per workload by N003. Namespaces without workloads in the scan are
not flagged, and neither is a namespace whose Namespace object is not in the scan (its
workloads are still judged by N003).

What kubeward does not read cannot count, and the finding says so:

- A live scan lists only Kubernetes NetworkPolicies, not Calico or Cilium policies: a
  namespace isolated only by those is reported by a live scan.
- Cluster-wide policies are never read: `CiliumClusterwideNetworkPolicy`, Calico
  `GlobalNetworkPolicy`, `AdminNetworkPolicy` and `BaselineAdminNetworkPolicy`. Where one of
  them isolates the namespace, record an exception.

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


def _uid(obj: K8sObject) -> str | None:
    uid = obj.metadata.get("uid")
    return uid if isinstance(uid, str) and uid else None


def _controlled(obj: K8sObject, uids: frozenset[str]) -> bool:
    """Is ``obj`` run by another workload of the scan (a dump's ReplicaSets and Pods)? Its
    pods are that workload's, so counting it would count them twice."""
    owners = obj.metadata.get("ownerReferences")
    return isinstance(owners, list) and any(
        isinstance(owner, dict) and owner.get("controller") is True and owner.get("uid") in uids
        for owner in owners
    )


def _build(inventory: Inventory) -> _Coverage:
    running = [o for o in inventory.workloads if o.namespace and o.kind != "PodTemplate"]
    uids = frozenset(uid for uid in map(_uid, running) if uid is not None)
    workloads: Counter[str] = Counter(
        o.namespace for o in running if o.namespace and not _controlled(o, uids)
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
    references=(
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/",
    ),
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
        f'namespace "{obj.name}" has {count} {plural} in the scan and no network policy in '
        "it: unless a policy kubeward does not read selects them (see the rule's page), its "
        "pods accept connections from anywhere and can connect anywhere",
    )
