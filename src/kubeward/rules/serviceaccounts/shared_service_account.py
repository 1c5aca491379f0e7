"""## What it does
Flags workloads that share a service account (other than `default`, which A001 covers) with
another workload of the same namespace. Each sharing workload is reported, naming the others
(up to three, then how many more).

A workload is an object that carries a pod spec: Deployments, StatefulSets, DaemonSets, Jobs,
CronJobs, ReplicaSets, ReplicationControllers, bare Pods and custom resources such as Argo
Rollouts. Objects a controller made (a Pod of a ReplicaSet, the ReplicaSet of a Deployment,
the Job of a CronJob, as in a cluster export) are not extra workloads: an object whose
`metadata.ownerReferences` names a controller (`controller: true`) counts as that controller,
followed up the chain as far as the scan goes, and is reported only when its controller is not
in the scan. When a Pod's owner is missing from the scan (a `kubectl get deploy,pods` export),
the owner's own controller is read from the names Kubernetes gives: a ReplicaSet named
`<deployment>-<pod-template-hash>` (the Pod's `pod-template-hash` label) belongs to that
Deployment, and a Job named `<cronjob>-<scheduled minute>` (eight or more digits) to that
CronJob. So the Pods of a Deployment's old and new ReplicaSets in the middle of a rollout, or
of several runs of one CronJob, are one workload. `PodTemplate` objects are not counted: they
run no pods by themselves.

## Why is this bad?
RBAC is granted to service accounts, not to workloads. When two workloads share one, each gets
the union of the permissions the other needs, and a compromise of either exposes the token
that both use. Audit logs can no longer tell which of them made a request. One service account
per workload keeps permissions minimal and attributable.

## Example
```yaml
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: backend
---
kind: CronJob
metadata: {name: cleanup, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: backend    # same account as the api
```

Use instead: give each workload its own ServiceAccount (`api`, `cleanup`) and bind each only
the roles it needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, inventory_rule
from kubeward.rules._common.pods import service_account_name

_SHOWN = 3
_MAX_OWNER_HOPS = 8
# The CronJob controller names each Job `<cronjob>-<scheduled time in minutes since the epoch>`
# (eight digits from 1989 to 2160); shorter suffixes are more likely a person's numbering.
_CRONJOB_RUN = re.compile(r"(.+)-[0-9]{8,}")


def _controller(obj: K8sObject) -> tuple[str, str] | None:
    """``(kind, name)`` of the owner reference marked ``controller: true``, if any."""
    refs = obj.metadata.get("ownerReferences")
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True:
            kind, name = ref.get("kind"), ref.get("name")
            if isinstance(kind, str) and kind and isinstance(name, str) and name:
                return kind, name
    return None


def _missing_owners_controller(obj: K8sObject, owner: tuple[str, str]) -> tuple[str, str] | None:
    """The controller of ``obj``'s owner, when the owner is not in the scan, from the name the
    Deployment or CronJob controller gave it."""
    kind, name = owner
    if kind == "ReplicaSet":
        pod_hash = obj.labels.get("pod-template-hash")
        if isinstance(pod_hash, str) and pod_hash and name.endswith(f"-{pod_hash}"):
            return "Deployment", name[: -len(pod_hash) - 1]
    elif kind == "Job":
        run = _CRONJOB_RUN.fullmatch(name)
        if run is not None:
            return "CronJob", run.group(1)
    return None


def _workload(obj: K8sObject, inventory: Inventory) -> tuple[str, bool]:
    """The workload ``obj`` belongs to (``Kind/name``), and whether findings go on ``obj``.

    Follows controller owner references through the scan; an owner that is not in the scan
    still names the workload (so two Pods of one unscanned ReplicaSet are one workload), or its
    own controller does when the owner's name tells it (see the module).
    """
    current, name = obj, f"{obj.kind}/{obj.name}"
    reported = True
    for hop in range(_MAX_OWNER_HOPS):
        owner_ref = _controller(current)
        if owner_ref is None:
            break
        owner = inventory.get(owner_ref[0], current.namespace, owner_ref[1])
        if owner is None:
            inferred = _missing_owners_controller(current, owner_ref)
            if inferred is not None:
                owner_ref = inferred
                owner = inventory.get(owner_ref[0], current.namespace, owner_ref[1])
        name = f"{owner_ref[0]}/{owner_ref[1]}"
        if owner is None:
            break
        if hop == 0:
            reported = False
        current = owner
    return name, reported


def _names(others: list[str]) -> str:
    if len(others) == 1:
        return others[0]
    if len(others) <= _SHOWN:
        return ", ".join(others[:-1]) + " and " + others[-1]
    return ", ".join(others[:_SHOWN]) + f" and {len(others) - _SHOWN} more"


def _build(inventory: Inventory) -> dict[int, Violation]:
    """The finding of every workload object that shares its service account, by ``id()``."""
    groups: dict[tuple[str | None, str], list[K8sObject]] = {}
    for obj in inventory.workloads:
        if obj.kind == "PodTemplate":
            continue
        account = service_account_name(obj)
        if account != "default":
            groups.setdefault((obj.namespace, account), []).append(obj)
    findings: dict[int, Violation] = {}
    for (namespace, account), members in groups.items():
        if len(members) < 2:  # one object is one workload: nothing to share
            continue
        names: dict[str, None] = {}
        reported: list[tuple[K8sObject, str]] = []
        for obj in members:
            name, report_here = _workload(obj, inventory)
            names[name] = None
            if report_here:
                reported.append((obj, name))
        if len(names) < 2:
            continue
        where = f'namespace "{namespace}"' if namespace else "the same namespace"
        for obj, name in reported:
            others = [n for n in names if n != name]
            spec = obj.pod_spec or {}
            field_name = (
                "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
            )
            findings[id(obj)] = Violation(
                (*(obj.pod_spec_path or ()), field_name),
                f'service account "{account}" is also used by {_names(others)} in {where}',
            )
    return findings


@inventory_rule(
    id="A003",
    name="shared-service-account",
    title="Service account is shared by several workloads",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Create one ServiceAccount per workload and bind each only the roles it needs.",
)
def shared_service_account(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    finding = inventory.derived(_build).get(id(obj))
    if finding is not None:
        yield finding
