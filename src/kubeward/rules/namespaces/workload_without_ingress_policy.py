"""## What it does
Flags workloads whose pods no NetworkPolicy isolates for ingress: no Kubernetes NetworkPolicy
(`networking.k8s.io`) in the workload's namespace both selects the pods' labels (the pod
template's labels, or a bare Pod's own) and covers the `Ingress` direction.

The Kubernetes semantics are followed exactly (see the references):

- A policy selects pods of its own namespace only: `metadata.namespace`, or for objects
  without one the deploy-time namespace (`--namespace`; without it, objects that name no
  namespace are taken to share one).
- `podSelector: {}`, or no podSelector (the API server defaults it to `{}`), selects every
  pod of the namespace. `matchLabels` and `matchExpressions` must all hold: `In` needs the key
  with one of the values, `NotIn` holds for pods without the key too, `Exists` and
  `DoesNotExist` test the key only.
- A policy covers `Ingress` if `policyTypes` lists it, or if `policyTypes` is missing or
  empty (the API server then defaults it to `Ingress`, adding `Egress` only when the policy
  has egress rules). `policyTypes: [Egress]` selects the pods for egress only: it does not
  isolate them for ingress, and its ingress rules have no effect.
- Policies add up: any one that selects the pods for ingress isolates them. Whether its
  rules are tight is judged by N004; a policy that selects the pods with no ingress rules
  (`ingress: []` or none) denies all ingress, which passes.
- The pods' labels are the pod template's (a bare Pod's own), plus those the API server adds
  to a Job's template unless it sets `manualSelector: true`: `job-name` and
  `batch.kubernetes.io/job-name` (the Job's name) and `controller-uid` and
  `batch.kubernetes.io/controller-uid` (its uid, unknown in a manifest: only `Exists` and
  `NotIn`/`DoesNotExist` tests about them are decided). A CronJob's Jobs get generated names,
  so no policy can name them in advance.

Workloads with `hostNetwork: true` are always flagged, with their own message: their pods use
the node's network namespace, and Kubernetes leaves NetworkPolicy behaviour for host-network
pods undefined (most plugins do not apply policies to them at all).

Calico and Cilium policies are not evaluated (their selectors have other semantics); N002
accepts them as a namespace's policy, this rule does not.

In a file scan, a workload and the objects it controls (a dump's ReplicaSets and Pods) are
each judged; a live scan judges the controller only.

## Why is this bad?
A pod that no ingress policy selects accepts connections from every pod of the cluster, and
from outside it wherever it is exposed. An attacker who compromises any workload can reach
its unauthenticated endpoints (metrics, admin, debug ports, databases) and move laterally.

## Example
```yaml
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: api}
# the only policy in "shop" selects app=web
```

Use instead: add a NetworkPolicy that selects the pods (`podSelector: {matchLabels: {app:
api}}`, or a namespace-wide default-deny with `podSelector: {}`) and allows only the clients
that need them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeward.model import Inventory, K8sObject, Path, Severity, Violation, shown
from kubeward.model.objects import api_group
from kubeward.rules._base import WORKLOADS, RuleParams, inventory_rule
from kubeward.rules._common.pods import template_labels
from kubeward.rules._common.selectors import selector_matches
from kubeward.rules.namespaces._network_policy import (
    INGRESS,
    empty_selector,
    is_k8s_network_policy,
    pod_selector,
    policy_spec,
    policy_types,
)


@dataclass(slots=True)
class _Policies:
    """The Kubernetes NetworkPolicies of one namespace, indexed for selecting pods by labels."""

    count: int = 0
    selects_all: bool = False
    """An Ingress policy with an empty pod selector (every pod of the namespace)."""
    by_label: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    """Ingress policies' selectors by one of their ``matchLabels`` pairs: a pod can only be
    selected by the policies filed under one of its own labels."""
    other: list[Any] = field(default_factory=list)
    """Ingress policies' selectors without a usable ``matchLabels`` pair (expressions only)."""

    def select(self, labels: Mapping[str, Any]) -> bool:
        if self.selects_all:
            return True
        candidates = list(self.other)
        for key, value in labels.items():
            if isinstance(value, str):
                candidates.extend(self.by_label.get((key, value), ()))
        return any(selector_matches(selector, labels) for selector in candidates)


def _build(inventory: Inventory) -> dict[str | None, _Policies]:
    index: dict[str | None, _Policies] = {}
    for policy in inventory.of_kind("NetworkPolicy"):
        if not is_k8s_network_policy(policy):
            continue
        entry = index.setdefault(policy.namespace, _Policies())
        entry.count += 1
        spec = policy_spec(policy)
        if INGRESS not in policy_types(spec):
            continue
        selector = pod_selector(spec)
        if empty_selector(selector):
            entry.selects_all = True
            continue
        match_labels = selector.get("matchLabels") if isinstance(selector, dict) else None
        pair = next(iter(match_labels.items()), None) if isinstance(match_labels, dict) else None
        if pair is not None and isinstance(pair[0], str) and isinstance(pair[1], str):
            entry.by_label.setdefault(pair, []).append(selector)
        else:
            entry.other.append(selector)
    return index


#: Labels the API server adds to a Job's pod template when the Job does not set
#: ``manualSelector: true`` (the batch/v1 Job create strategy): the job-name pair carries the
#: Job's name, the controller-uid pair its uid.
JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
UNKNOWN = "<unknown>"
"""The value of a label the pods will have but the manifest cannot tell (a uid not assigned
yet): not a valid label value, so ``Exists`` holds and no ``In`` requirement does."""


def _pod_labels(obj: K8sObject) -> Mapping[str, Any]:
    """The labels the pods run with: the template's, plus those the API server adds to it."""
    labels = template_labels(obj)
    spec = obj.raw.get("spec")
    if (
        obj.kind != "Job"
        or api_group(obj.api_version) != "batch"
        or not isinstance(spec, dict)
        or spec.get("manualSelector") is True
    ):
        return labels
    name = obj.metadata.get("name")
    name = name if isinstance(name, str) and name else UNKNOWN  # generateName: not known yet
    added = dict.fromkeys(JOB_NAME_LABELS, name) | dict.fromkeys(JOB_UID_LABELS, UNKNOWN)
    return {**added, **labels}  # labels already set (a Job read back from the API) win


def _labels_path(obj: K8sObject) -> Path:
    """Where the pods' labels are set or, when they are missing, the deepest parent present."""
    base = obj.pod_spec_path or ()
    template: Path = () if obj.kind == "Pod" and base == ("spec",) else base[:-1]
    node: Any = obj.raw
    for key in template:
        node = node.get(key) if isinstance(node, dict) else None
    meta = node.get("metadata") if isinstance(node, dict) else None
    if not isinstance(meta, dict):
        return template or ("metadata",)
    if isinstance(meta.get("labels"), dict):
        return (*template, "metadata", "labels")
    return (*template, "metadata")


def _show(labels: Mapping[str, Any]) -> str:
    # a null value is an empty one, as the API server decodes it
    return ",".join(f"{k}={shown(v, '')}" for k, v in labels.items()) if labels else "no labels"


@inventory_rule(
    id="N003",
    name="workload-without-ingress-policy",
    title="No NetworkPolicy restricts ingress to the workload",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation=(
        "Select the workload's pods with an Ingress NetworkPolicy (a namespace-wide "
        "default-deny plus the allowed clients)."
    ),
    reads={"NetworkPolicy"},
    references=(
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/",
        "https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/label-selector/",
    ),
)
def workload_without_ingress_policy(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    spec, base = obj.pod_spec, obj.pod_spec_path
    if spec is None or base is None:
        return
    if spec.get("hostNetwork") is True:
        yield Violation(
            (*base, "hostNetwork"),
            "the pods use the host network: NetworkPolicies cannot restrict host-network pods "
            "(Kubernetes leaves it undefined and most network plugins ignore them)",
        )
        return
    policies = inventory.derived(_build).get(obj.namespace)
    if policies is not None and policies.select(_pod_labels(obj)):
        return
    labels = template_labels(obj)  # the message shows what the manifest sets
    count = policies.count if policies is not None else 0
    where = f'namespace "{obj.namespace}"' if obj.namespace else "the namespace"
    if count > 1:
        detail = f"none of the {count} NetworkPolicies in {where} selects"
    elif count:
        detail = f"the only NetworkPolicy in {where} does not select"
    else:
        detail = f"no NetworkPolicy in {where} selects"
    yield Violation(
        _labels_path(obj),
        f"{detail} these pods ({_show(labels)}) for Ingress: any pod of the cluster can "
        "connect to them",
    )
