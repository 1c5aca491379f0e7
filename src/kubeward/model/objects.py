"""A read-only view over one Kubernetes object, kept as the dict it was parsed from.

kubeward must read any field of any kind, CRDs included, so objects are not modelled field by
field. ``K8sObject`` adds what every rule needs, computed once: identity, the effective
namespace, and the pod spec with its containers wherever the kind keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, Protocol

from kubeward.model.findings import ObjectRef, Path, RenderedFrom

Raw = dict[str, Any]

#: Built-in kinds that carry a pod spec, and where. Keyed by kind for the built-in API groups.
BUILTIN_POD_SPEC_PATHS: Mapping[str, Path] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
BUILTIN_GROUPS = frozenset({"", "apps", "batch", "extensions"})

#: Custom resources known to embed a pod template, by (API group, kind).
CRD_POD_SPEC_PATHS: Mapping[tuple[str, str], Path] = {
    ("argoproj.io", "Rollout"): ("spec", "template", "spec"),
    ("apps.kruise.io", "CloneSet"): ("spec", "template", "spec"),
    ("apps.kruise.io", "StatefulSet"): ("spec", "template", "spec"),
    ("apps.kruise.io", "DaemonSet"): ("spec", "template", "spec"),
    ("apps.openshift.io", "DeploymentConfig"): ("spec", "template", "spec"),
    ("serving.knative.dev", "Service"): ("spec", "template", "spec"),
    ("serving.knative.dev", "Configuration"): ("spec", "template", "spec"),
}

#: Kinds of the built-in and common APIs that are cluster-scoped (no namespace).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

CLUSTER_SCOPED_GROUP_KINDS = frozenset(
    {
        # built-in kinds whose names other API groups reuse for namespaced kinds (Cluster API's
        # and Metal3's IPAddress), and the review kinds
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "DeviceTaintRule"),
        ("resource.k8s.io", "ResourceSlice"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
        # custom resources of widely used projects, as their CRDs declare them
        ("argoproj.io", "ClusterWorkflowTemplate"),
        ("cilium.io", "CiliumCIDRGroup"),
        ("cilium.io", "CiliumClusterwideNetworkPolicy"),
        ("cilium.io", "CiliumIdentity"),
        ("cilium.io", "CiliumLoadBalancerIPPool"),
        ("cilium.io", "CiliumNode"),
        ("crd.projectcalico.org", "GlobalNetworkPolicy"),
        ("crd.projectcalico.org", "GlobalNetworkSet"),
        ("crd.projectcalico.org", "HostEndpoint"),
        ("crd.projectcalico.org", "IPPool"),
        ("gateway.networking.k8s.io", "GatewayClass"),
        ("karpenter.sh", "NodeClaim"),
        ("karpenter.sh", "NodePool"),
        ("keda.sh", "ClusterTriggerAuthentication"),
        ("kyverno.io", "ClusterCleanupPolicy"),
        ("kyverno.io", "ClusterPolicy"),
        ("projectcalico.org", "GlobalNetworkPolicy"),
        ("projectcalico.org", "GlobalNetworkSet"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
        ("templates.gatekeeper.sh", "ConstraintTemplate"),
        ("wgpolicyk8s.io", "ClusterPolicyReport"),
    }
)
"""Cluster-scoped kinds known by API group as well as kind. A CustomResourceDefinition in the
same scan overrides this table for its kind (see ``sources.load.apply_declared_scopes``)."""
CLUSTER_SCOPED_GROUPS = frozenset({"constraints.gatekeeper.sh", "mutations.gatekeeper.sh"})
"""API groups all of whose kinds are cluster-scoped (Gatekeeper's constraints and mutators)."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

NamespaceSource = Literal["explicit", "deploy", "unset", "cluster"]


class Unlocated:
    """The origin of an object that has no file and no lines (from a cluster, an admission
    request, a test case): findings point at the object itself."""

    __slots__ = ()
    file: str | None = None
    line: int | None = None
    rendered_from: RenderedFrom | None = None

    def lines(self, paths: Sequence[Path]) -> list[int | None]:
        return [None] * len(paths)


UNLOCATED = Unlocated()


class Origin(Protocol):
    """Where an object came from; implemented by ``kubeward.sources``.

    Rules never see it: the engine asks it for the line of each violation's path.
    """

    @property
    def file(self) -> str | None: ...

    @property
    def line(self) -> int | None:
        """The line where the object starts."""
        ...

    @property
    def rendered_from(self) -> RenderedFrom | None: ...

    def lines(self, paths: Sequence[Path]) -> list[int | None]:
        """The line of each path (the deepest existing node along it)."""
        ...


_EMPTY: Mapping[str, Any] = {}
_LIST_LABELS = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}


class Container:
    """One container of a pod spec, with its path inside the object."""

    __slots__ = ("index", "label", "list_name", "path", "raw", "security_context")

    def __init__(self, raw: Raw, list_name: str, index: int, path: Path) -> None:
        self.raw = raw
        self.list_name = list_name
        self.index = index
        self.path = path
        ctx = raw.get("securityContext")
        self.security_context: Mapping[str, Any] = ctx if type(ctx) is dict else _EMPTY
        """The container's own securityContext (empty when unset or malformed)."""
        self.label = f'{_LIST_LABELS.get(list_name, "container")} "{self.name}"'
        """``container "web"`` / ``init container "setup"``, for messages."""

    @property
    def name(self) -> str:
        name = self.raw.get("name")
        return name if isinstance(name, str) else f"#{self.index}"

    @property
    def image(self) -> str | None:
        image = self.raw.get("image")
        return image if isinstance(image, str) else None


def api_group(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""`` (the core group)."""
    group, sep, _ = api_version.rpartition("/")
    return group if sep else ""


def is_cluster_scoped(api_version: str, kind: str) -> bool:
    """Whether objects of this kind live outside namespaces, as far as kubeward knows without
    asking an API server."""
    if kind in CLUSTER_SCOPED_KINDS:
        return True
    group = api_group(api_version)
    return (group, kind) in CLUSTER_SCOPED_GROUP_KINDS or group in CLUSTER_SCOPED_GROUPS


def pod_spec_path(api_version: str, kind: str, raw: Raw) -> Path | None:
    """Where this kind keeps its pod spec, or None if it has none."""
    group = api_group(api_version)
    if group in BUILTIN_GROUPS:
        return BUILTIN_POD_SPEC_PATHS.get(kind)
    known = CRD_POD_SPEC_PATHS.get((group, kind))
    if known is not None:
        return known
    # Unknown custom resources that embed a standard pod template (``spec.template.spec`` with a
    # list of containers) are judged like Deployments: that is where their pods come from.
    spec = raw.get("spec")
    if isinstance(spec, dict):
        template = spec.get("template")
        if isinstance(template, dict):
            inner = template.get("spec")
            if isinstance(inner, dict) and isinstance(inner.get("containers"), list):
                return ("spec", "template", "spec")
    return None


def _dig(raw: Raw, path: Path) -> Any:
    node: Any = raw
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


class K8sObject:
    """A Kubernetes object as parsed, with identity and pod spec resolved once."""

    __slots__ = (
        "_containers",
        "_image_uses",
        "admission",
        "api_version",
        "kind",
        "name",
        "namespace",
        "namespace_source",
        "origin",
        "pod_spec",
        "pod_spec_path",
        "raw",
    )

    def __init__(
        self,
        raw: Raw,
        origin: Origin,
        *,
        deploy_namespace: str | None = None,
        admission: Mapping[str, Any] | None = None,
        cluster_scoped: bool | None = None,
    ) -> None:
        self.raw = raw
        self.origin = origin
        self.admission = admission
        """At admission only: the AdmissionReview's ``request`` that carries this object as
        ``object`` (operation, userInfo, oldObject; Secret values removed). Users' policies
        may read it; built-in rules judge the object alone."""
        api_version = raw.get("apiVersion")
        kind = raw.get("kind")
        self.api_version: str = api_version if isinstance(api_version, str) else ""
        self.kind: str = kind if isinstance(kind, str) else ""
        meta = raw.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            generate = meta.get("generateName")
            name = f"{generate}*" if isinstance(generate, str) and generate else "<unnamed>"
        self.name: str = name
        self.namespace: str | None
        self.namespace_source: NamespaceSource
        explicit = meta.get("namespace")
        if cluster_scoped is None:
            # the API server's word when there is one (live objects, CRDs in the scan)
            cluster_scoped = is_cluster_scoped(self.api_version, self.kind)
        if cluster_scoped:
            self.namespace, self.namespace_source = None, "cluster"
        elif isinstance(explicit, str) and explicit:
            self.namespace, self.namespace_source = explicit, "explicit"
        elif deploy_namespace:
            self.namespace, self.namespace_source = deploy_namespace, "deploy"
        else:
            self.namespace, self.namespace_source = None, "unset"
        path = pod_spec_path(self.api_version, self.kind, raw)
        spec = _dig(raw, path) if path is not None else None
        self.pod_spec: Raw | None = spec if isinstance(spec, dict) else None
        self.pod_spec_path: Path | None = path if self.pod_spec is not None else None
        self._containers: tuple[Container, ...] | None = None
        self._image_uses: tuple[ImageUse, ...] | None = None

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.raw.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def annotations(self) -> Mapping[str, Any]:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def labels(self) -> Mapping[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def pod_template_annotations(self) -> Mapping[str, Any]:
        """Annotations of the pod template (for controllers); empty for bare pods."""
        if self.pod_spec_path is None or len(self.pod_spec_path) < 2:
            return {}
        meta = _dig(self.raw, (*self.pod_spec_path[:-1], "metadata"))
        ann = meta.get("annotations") if isinstance(meta, dict) else None
        return ann if isinstance(ann, dict) else {}

    @property
    def ref(self) -> ObjectRef:
        rv = self.metadata.get("resourceVersion")
        return ObjectRef(
            api_version=self.api_version,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            resource_version=rv if isinstance(rv, str) else None,
        )

    @property
    def display(self) -> str:
        """``Deployment/shop/web`` or ``ClusterRole/admin``, for messages."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    def containers(self) -> tuple[Container, ...]:
        """Init, regular and ephemeral containers of the pod spec (malformed entries skipped)."""
        if self._containers is None:
            found: list[Container] = []
            spec, base = self.pod_spec, self.pod_spec_path
            if spec is not None and base is not None:
                for list_name in CONTAINER_LISTS:
                    items = spec.get(list_name)
                    if isinstance(items, list):
                        for index, item in enumerate(items):
                            if isinstance(item, dict):
                                found.append(
                                    Container(item, list_name, index, (*base, list_name, index))
                                )
            self._containers = tuple(found)
        return self._containers

    def __repr__(self) -> str:
        return f"<K8sObject {self.display}>"


class ImageUse(NamedTuple):
    """One image the kubelet pulls for a pod: a container's ``image``, or the ``reference``
    of an ``image`` volume (Kubernetes 1.31+), which is mounted into containers and so must
    meet the same registry and pinning rules."""

    label: str
    """``container "web"``, ``init container "setup"``, ``image volume "models"``."""
    image: str | None
    path: Path
    """The reference's field."""
    owner: Mapping[str, Any]
    """The mapping that holds the reference and its pull policy."""
    owner_path: Path
    pull_policy_field: str
    """``imagePullPolicy`` for containers, ``pullPolicy`` for image volumes (same values and
    defaults)."""


def image_uses(obj: K8sObject) -> tuple[ImageUse, ...]:
    """Every image ``obj``'s pods pull: init, regular and ephemeral containers, then image
    volumes (computed once per object: seven image rules read them)."""
    found = obj._image_uses
    if found is None:
        found = obj._image_uses = tuple(_image_uses(obj))
    return found


def _image_uses(obj: K8sObject) -> Iterator[ImageUse]:
    for container in obj.containers():
        yield ImageUse(
            container.label,
            container.image,
            (*container.path, "image"),
            container.raw,
            container.path,
            "imagePullPolicy",
        )
    spec = obj.pod_spec
    volumes = spec.get("volumes") if spec is not None else None
    if type(volumes) is not list or obj.pod_spec_path is None:
        return
    for index, volume in enumerate(volumes):
        if type(volume) is not dict or "image" not in volume:
            continue
        source = volume["image"]
        if type(source) is not dict:
            continue
        reference = source.get("reference")
        name = volume.get("name")
        yield ImageUse(
            # a volume without a string name is shown by position, like such a container
            f'image volume "{name if isinstance(name, str) else f"#{index}"}"',
            reference if isinstance(reference, str) else None,
            (*obj.pod_spec_path, "volumes", index, "image", "reference"),
            source,
            (*obj.pod_spec_path, "volumes", index, "image"),
            "pullPolicy",
        )
