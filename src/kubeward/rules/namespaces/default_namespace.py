"""## What it does
Flags namespaced objects that land in the `default` namespace: set explicitly, given as the
deploy-time namespace (`--namespace`, `HELM_NAMESPACE`), or not set at all.

A manifest without `metadata.namespace` is deployed into whatever namespace the deploying
kubectl context or Helm release names, which is `default` unless someone chose otherwise. If
you know where it will be deployed, say so with `kubeward scan --namespace NS` and the object is
judged by that namespace; otherwise kubeward takes the safe reading and flags it.

Never flagged: the `default` ServiceAccount, its token Secret, the `kubernetes` Service with its
Endpoints and EndpointSlice, and the `kube-root-ca.crt` ConfigMap, which Kubernetes itself keeps
in `default` (they show up in live-cluster scans), and cluster-scoped objects. Which kinds are
cluster-scoped: in a live cluster, what the API server's discovery says; in manifests, what a
CustomResourceDefinition in the same scan says (`spec.scope`), else kubeward's table of built-in
kinds (up to Kubernetes 1.35, by API group: a `networking.k8s.io` IPAddress is cluster-scoped,
Cluster API's is not) and of widely used projects' custom resources (Gateway API, Kyverno,
Gatekeeper, Cilium, Calico, Karpenter, cert-manager, External Secrets, snapshots, ...). A custom
resource of another cluster-scoped kind is flagged unless its definition is scanned with it.

## Why is this bad?
`default` is where everything lands by accident. Roles granted in `default` for one app apply
to everything else there, NetworkPolicies and quotas are rarely set up for it, and workloads of
different owners end up sharing a trust boundary. Namespaces per team or application are the
unit of RBAC, policy and isolation.

## Example
```yaml
kind: Deployment
metadata:
  name: api
  namespace: default
```

Use instead: deploy into a dedicated namespace (`namespace: payments`), or leave
`metadata.namespace` unset in a reusable chart and scan with `--namespace payments`.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule

_KUBERNETES_OWNED = {
    ("ServiceAccount", "default"),
    ("Service", "kubernetes"),
    # the API server's own endpoints for that Service
    ("Endpoints", "kubernetes"),
    ("EndpointSlice", "kubernetes"),
    ("ConfigMap", "kube-root-ca.crt"),  # published into every namespace by the controller manager
}


def _kubernetes_owned(obj: K8sObject) -> bool:
    if (obj.kind, obj.name) in _KUBERNETES_OWNED:
        return True
    if obj.kind == "Secret" and obj.raw.get("type") == "kubernetes.io/service-account-token":
        return obj.annotations.get("kubernetes.io/service-account.name") == "default"
    return False


@rule(
    id="N001",
    name="default-namespace",
    title="Object is deployed into the default namespace",
    severity=Severity.LOW,
    target=Target(every_kind=True),
    remediation=(
        "Set `metadata.namespace` to a dedicated namespace, or scan with `--namespace NS` "
        "when the namespace is chosen at deploy time."
    ),
)
def default_namespace(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.namespace_source == "cluster" or _kubernetes_owned(obj):
        return
    if obj.namespace_source == "unset":
        yield Violation(
            ("metadata",),
            "no namespace set: it lands in the deploying context's namespace, normally "
            "`default` (pass --namespace if it is chosen at deploy time)",
        )
    elif obj.namespace == "default":
        where = "explicitly" if obj.namespace_source == "explicit" else "by --namespace"
        path = ("metadata", "namespace") if obj.namespace_source == "explicit" else ("metadata",)
        yield Violation(path, f"placed in the `default` namespace {where}")
