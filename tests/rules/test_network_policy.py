"""Messages of the NetworkPolicy rules that the fixtures' (rule, line) pairs do not pin."""

from __future__ import annotations

from kubeward.model import ScanResult
from tests.conftest import ScanText


def _messages(result: ScanResult, rule_id: str) -> list[str]:
    return [f.message for f in result.findings if f.rule_id == rule_id]


def test_a_null_port_entry_is_every_tcp_port(scan_text: ScanText) -> None:
    """The API server decodes ``ports: [null]`` as one zero port: every TCP port."""
    result = scan_text(
        """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: shop}
spec:
  podSelector: {}
  ingress:
    - ports: [null]
""",
        select=("N004",),
    )
    assert _messages(result, "N004") == [
        "ingress rule 0 has no `from`, so it admits traffic from everyone, in or outside the "
        "cluster, on every TCP port"
    ]


DUMP = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d-1}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d4f
  namespace: shop
  uid: r-1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true}]
spec:
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d4f}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d4f-x
  namespace: shop
  labels: {app: web, pod-template-hash: 5d4f}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: r-1, controller: true}]
spec:
  containers: [{name: web, image: "nginx:1.27"}]
---
# Its owner is not in the scan: a workload of its own.
apiVersion: v1
kind: Pod
metadata:
  name: stray
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: r-9, controller: true}]
spec:
  containers: [{name: web, image: "nginx:1.27"}]
"""


def test_namespace_counts_controlled_workloads_once(scan_text: ScanText) -> None:
    """A dump's ReplicaSet and Pod run the Deployment's pods: 2 workloads, not 4."""
    (message,) = _messages(scan_text(DUMP, select=("N002",)), "N002")
    assert message.startswith('namespace "shop" has 2 workloads in the scan and no network policy')
    assert "a policy kubeward does not read" in message
