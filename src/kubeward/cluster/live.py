"""Reading a live cluster into objects: which kinds, how they are listed, what is held back.

kubeward lists every kind its rules read (and the custom resources it knows to embed pod
templates, when the cluster serves them), page by page. Secrets are listed *metadata only*
(``PartialObjectMetadataList``): no Secret value ever reaches kubeward (a server or proxy that
ignores the request has the values dropped on arrival, and a warning says so). The one place
object metadata can still carry values — a ``last-applied-configuration`` annotation holding the
Secret's own manifest — is redacted on arrival (its keys are kept, so rule S003 still reports
the leak). A kind the identity may not list is a coverage gap with the exact verb and resource;
so is a kind whose API group's discovery fails (an aggregated API whose service is down) and a
collection the server keeps failing to list (5xx or 429 after the client's retries, any other
error status): the rest is still scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeward.cluster.client import ApiClient, ApiError, Forbidden, NotFound
from kubeward.errors import ClusterError, UsageError
from kubeward.model import K8sObject
from kubeward.model.objects import UNLOCATED
from kubeward.model.secrets import redact_secret_metadata

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type


@dataclass(frozen=True)
class Kind:
    """A kind kubeward reads: API group, kind, and whether only metadata may be listed."""

    group: str
    kind: str
    plural: str
    """The resource name (what RBAC rules and URLs use)."""
    metadata_only: bool = False
    optional: bool = False
    """A custom resource: not being served is normal, not a gap."""


CRD_PLURALS = {
    ("argoproj.io", "Rollout"): "rollouts",
    ("apps.kruise.io", "CloneSet"): "clonesets",
    ("apps.kruise.io", "StatefulSet"): "statefulsets",
    ("apps.kruise.io", "DaemonSet"): "daemonsets",
    ("apps.openshift.io", "DeploymentConfig"): "deploymentconfigs",
    ("serving.knative.dev", "Service"): "services",
    ("serving.knative.dev", "Configuration"): "configurations",
}
"""The custom resources of ``CRD_POD_SPEC_PATHS`` (tests/test_cluster_kinds.py checks both)."""

CATALOG_KINDS: tuple[Kind, ...] = (
    Kind("", "Namespace", "namespaces"),
    Kind("", "Pod", "pods"),
    Kind("", "ReplicationController", "replicationcontrollers"),
    Kind("", "Service", "services"),
    Kind("", "ServiceAccount", "serviceaccounts"),
    Kind("", "ConfigMap", "configmaps"),
    Kind("", "Secret", "secrets", metadata_only=True),
    Kind("apps", "Deployment", "deployments"),
    Kind("apps", "ReplicaSet", "replicasets"),
    Kind("apps", "StatefulSet", "statefulsets"),
    Kind("apps", "DaemonSet", "daemonsets"),
    Kind("batch", "Job", "jobs"),
    Kind("batch", "CronJob", "cronjobs"),
    Kind("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
    Kind("networking.k8s.io", "Ingress", "ingresses"),
    Kind("rbac.authorization.k8s.io", "Role", "roles"),
    Kind("rbac.authorization.k8s.io", "ClusterRole", "clusterroles"),
    Kind("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
    Kind("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings"),
    *(Kind(group, kind, plural, optional=True) for (group, kind), plural in CRD_PLURALS.items()),
)
"""Everything the catalog's rules read (tests/test_cluster_kinds.py keeps this in step)."""
RESOURCE_KINDS: dict[tuple[str, str], str] = {(k.group, k.plural): k.kind for k in CATALOG_KINDS}
"""(API group, resource) → kind: what a coverage gap on a resource leaves unread."""

_WORKLOAD_OWNERS = frozenset(
    {"ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
     "ReplicationController", "Rollout", "CloneSet", "DeploymentConfig"}
)  # fmt: skip


@dataclass(frozen=True)
class Resource:
    """A served collection: where it is and whether it lives in namespaces."""

    kind: Kind
    api_version: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None) -> str:
        base = f"/api/{self.api_version}" if not self.kind.group else f"/apis/{self.api_version}"
        if namespace is not None and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


@dataclass(frozen=True)
class Gap:
    """Something kubeward could not read, and why."""

    verb: str
    resource: str
    group: str
    namespace: str | None
    message: str


def unread(gaps: Iterable[Gap]) -> frozenset[tuple[str, str | None]]:
    """(kind, namespace) of the gaps (namespace None = cluster-wide), for ``Rule.reads``."""
    return frozenset(
        (RESOURCE_KINDS[(gap.group, gap.resource)], gap.namespace)
        for gap in gaps
        if (gap.group, gap.resource) in RESOURCE_KINDS
    )


@dataclass(frozen=True)
class Collection:
    resource: Resource
    namespace: str | None
    resource_version: str


@dataclass
class LiveObjects:
    objects: list[K8sObject] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    """What was listed, and from which resourceVersion a watch of it starts."""
    token_secrets: set[str] = field(default_factory=set)
    """UIDs of the Secrets that are service-account tokens."""
    warnings: list[str] = field(default_factory=list)
    """What the scan should say but is not a gap: a namespace whose existence is unknown, a
    server that ignored metadata-only (the values were dropped here)."""


LIVE_ORIGIN = UNLOCATED
"""A live object has no file and no lines; findings point at the object itself."""


_GIT_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def server_version(client: ApiClient) -> tuple[int, int] | None:
    """The API server's (major, minor) from ``/version`` (``v1.35.4-eks-…`` → (1, 35)); None
    when it cannot be read or parsed (the configured version is used then)."""
    try:
        answer = client.get("/version")
    except ApiError:
        return None
    match = _GIT_VERSION.match(str(answer.get("gitVersion", "")))
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass
class Discovery:
    """Where each wanted kind is served, and the group versions whose discovery failed."""

    resources: dict[Kind, Resource] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    """API group → why its preferred version could not be discovered."""


def discover(client: ApiClient, kinds: Iterable[Kind] = CATALOG_KINDS) -> Discovery:
    """Where each wanted kind is served (the group's preferred version), from discovery.

    A group version whose discovery document cannot be read (an aggregated API whose backing
    service is gone answers 503) is recorded in ``failed``: its kinds are coverage gaps, the
    others are still read. Only ``/apis`` itself failing stops the scan."""
    wanted = list(kinds)
    groups: dict[str, str] = {"": "v1"}
    try:
        for group in client.get("/apis").get("groups") or ():
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            if isinstance(preferred, str):
                groups[str(group.get("name"))] = preferred
    except NotFound:
        pass
    except ApiError as exc:
        raise ClusterError(f"cannot discover the cluster's API groups: {exc}") from None
    out = Discovery()
    for group_version in sorted({groups[k.group] for k in wanted if k.group in groups}):
        path = f"/api/{group_version}" if group_version == "v1" else f"/apis/{group_version}"
        try:
            listing = client.get(path)
        except NotFound:
            continue
        except ApiError as exc:
            reason = f"discovery of {path} failed: {exc}"
            out.failed.update((g, reason) for g, v in groups.items() if v == group_version)
            continue
        by_kind = {
            str(r.get("kind")): r
            for r in listing.get("resources") or ()
            if isinstance(r, dict) and "/" not in str(r.get("name"))
        }
        for kind in wanted:
            if groups.get(kind.group) != group_version:
                continue
            resource = by_kind.get(kind.kind)
            if resource is not None:
                out.resources[kind] = Resource(
                    kind, group_version, str(resource["name"]), bool(resource.get("namespaced"))
                )
    return out


def read(
    client: ApiClient,
    namespaces: Sequence[str] = (),
    kinds: Iterable[Kind] = CATALOG_KINDS,
) -> LiveObjects:
    """List every wanted kind (in ``namespaces``, or cluster-wide) into objects.

    Raises ``UsageError`` for a namespace that does not exist (a typo would otherwise scan
    nothing and pass)."""
    wanted = list(kinds)
    namespaces = list(dict.fromkeys(namespaces))  # -n a -n a: list it once
    discovery = discover(client, wanted)
    out = LiveObjects()
    for kind in wanted:
        resource = discovery.resources.get(kind)
        if resource is None:
            failed = discovery.failed.get(kind.group)
            if failed is not None:
                out.gaps.append(Gap("list", kind.plural, kind.group, None, failed))
            elif not kind.optional:
                out.gaps.append(
                    Gap("list", kind.plural, kind.group, None, "not served by this cluster")
                )
            continue
        scopes: Sequence[str | None] = namespaces if namespaces and resource.namespaced else (None,)
        for namespace in scopes:
            _read_collection(client, resource, namespace, out)
    if namespaces:
        _check_namespaces_exist(client, namespaces, out)
    out.objects = without_controlled(
        [o for o in out.objects if in_scope(o.kind, o.raw, namespaces)]
    )
    return out


def _check_namespaces_exist(client: ApiClient, namespaces: Sequence[str], out: LiveObjects) -> None:
    """Every ``-n`` namespace must exist: judged from the Namespace list when it was read,
    else by asking for each one; an identity that may do neither gets a warning."""
    listed = any(
        c.resource.kind.kind == "Namespace" and c.namespace is None for c in out.collections
    )
    if listed:
        known = {o.name for o in out.objects if o.kind == "Namespace"}
        missing = [name for name in namespaces if name not in known]
    else:
        missing = []
        for name in namespaces:
            try:
                client.get(f"/api/v1/namespaces/{name}")
            except NotFound:
                missing.append(name)
            except ApiError as exc:
                out.warnings.append(
                    f"cannot check that namespace {name} exists (the identity may not read "
                    f"Namespaces: {exc.message})"
                )
    if missing:
        raise UsageError(f"--namespace: no namespace {', '.join(missing)} in this cluster")


def in_scope(kind: str, item: dict[str, Any], namespaces: Sequence[str]) -> bool:
    """Whether a listed or watched item belongs to a scan of ``namespaces`` (empty: all).

    Namespace objects are cluster-scoped: only the ones asked for belong. Other cluster-scoped
    kinds (ClusterRoles, ClusterRoleBindings) do: they grant rights inside them."""
    if not namespaces or kind != "Namespace":
        return True
    meta = item.get("metadata")
    return isinstance(meta, dict) and meta.get("name") in namespaces


def _read_collection(
    client: ApiClient, resource: Resource, namespace: str | None, out: LiveObjects
) -> None:
    path = resource.path(namespace)
    try:
        ignored = False
        if resource.kind.metadata_only:
            items, version, ignored = client.list_metadata(path)
        else:
            items, version = client.list(path)
        token_secrets: set[str] = set()
        if resource.kind.kind == "Secret":
            # The type is not metadata: ask the server which Secrets are service-account
            # tokens (a field selector), still without bodies.
            tokens, _, ignored_too = client.list_metadata(
                path, {"fieldSelector": f"type={SERVICE_ACCOUNT_TOKEN}"}
            )
            token_secrets = {uid_of(item) for item in tokens}
            ignored |= ignored_too
    except Forbidden as exc:
        out.gaps.append(Gap("list", resource.plural, resource.kind.group, namespace, exc.message))
        return
    except NotFound:
        if not resource.kind.optional:
            out.gaps.append(
                Gap("list", resource.plural, resource.kind.group, namespace, "not found")
            )
        return
    except ApiError as exc:
        # 5xx and 429 after the client's retries, 400, an expired list: this collection only
        message = f"{exc.status} {exc.reason}: {exc.message}"
        out.gaps.append(Gap("list", resource.plural, resource.kind.group, namespace, message))
        return
    if ignored:
        out.warnings.append(metadata_ignored(path))
    out.collections.append(Collection(resource, namespace, version))
    out.token_secrets |= token_secrets
    for item in items:
        out.objects.append(live_object(item, resource, token_secrets))


def metadata_ignored(path: str) -> str:
    return (
        f"{path}: the server (or a proxy) ignored the metadata-only request and sent object "
        "bodies; their values were dropped on arrival"
    )


def uid_of(item: dict[str, Any]) -> str:
    meta = item.get("metadata")
    return str(meta.get("uid")) if isinstance(meta, dict) else ""


def live_object(item: dict[str, Any], resource: Resource, token_secrets: set[str]) -> K8sObject:
    """A listed or watched item as an object: list items lack apiVersion and kind, and
    metadata-only items are PartialObjectMetadata; Secret metadata is redacted."""
    item["apiVersion"] = resource.api_version
    item["kind"] = resource.kind.kind
    if resource.kind.kind == "Secret":
        redact_secret_metadata(item)
        if uid_of(item) in token_secrets:
            item["type"] = SERVICE_ACCOUNT_TOKEN
    # the API server says where the kind lives (custom resources kubeward has no table for)
    return K8sObject(item, LIVE_ORIGIN, cluster_scoped=not resource.namespaced)


def without_controlled(objects: list[K8sObject]) -> list[K8sObject]:
    """Drop objects a listed workload controls (a Deployment's ReplicaSets and their Pods):
    they repeat their controller's pod template, and the finding belongs to the controller."""
    uids = {uid_of(obj.raw) for obj in objects if obj.kind in _WORKLOAD_OWNERS}
    kept = []
    for obj in objects:
        owners = obj.metadata.get("ownerReferences")
        controlled = isinstance(owners, list) and any(
            isinstance(owner, dict)
            and owner.get("controller") is True
            and owner.get("kind") in _WORKLOAD_OWNERS
            and owner.get("uid") in uids
            for owner in owners
        )
        if not controlled:
            kept.append(obj)
    return kept
