"""Pod-spec helpers shared by rule families: effective security context, volumes, labels.

The effective value of a security-context field is the container's when the container sets
it, else the pod's (``spec.securityContext``) — the precedence the kubelet applies for
``runAsUser``, ``runAsGroup``, ``runAsNonRoot``, ``seLinuxOptions``, ``seccompProfile``,
``appArmorProfile`` and ``windowsOptions``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import Container, K8sObject, Path

EMPTY: Mapping[str, Any] = {}


def pod_security_context(obj: K8sObject) -> Mapping[str, Any]:
    spec = obj.pod_spec
    ctx = spec.get("securityContext") if spec is not None else None
    return ctx if isinstance(ctx, dict) else EMPTY


def pod_path(obj: K8sObject, *parts: str | int) -> Path:
    """A path under the pod spec (``spec.template.spec.<parts>`` for a Deployment)."""
    base = obj.pod_spec_path or ()
    return (*base, *parts)


def effective(obj: K8sObject, container: Container, field: str) -> tuple[Any, Path | None]:
    """The container's value of a security-context field, else the pod's, with where it is set.

    Returns ``(None, None)`` when neither sets it.
    """
    value = container.security_context.get(field)
    if value is not None:
        return value, (*container.path, "securityContext", field)
    value = pod_security_context(obj).get(field)
    if value is not None:
        return value, pod_path(obj, "securityContext", field)
    return None, None


def is_windows(obj: K8sObject) -> bool:
    """``spec.os.name: windows`` (several restricted controls do not apply to Windows pods)."""
    spec = obj.pod_spec or EMPTY
    os_spec = spec.get("os")
    return isinstance(os_spec, dict) and os_spec.get("name") == "windows"


def runs_on_windows(obj: K8sObject) -> bool:
    """``spec.os.name: windows``, or a ``kubernetes.io/os: windows`` node selector (how pods
    were pinned to Windows nodes before ``spec.os``; the kubelet sets that label itself). For
    rules outside the Pod Security Standards, which read ``spec.os`` alone. A required node
    affinity on the label is not read: such pods stay judged as Linux ones."""
    if is_windows(obj):
        return True
    spec = obj.pod_spec or EMPTY
    selector = spec.get("nodeSelector")
    return isinstance(selector, dict) and selector.get("kubernetes.io/os") == "windows"


def is_sidecar(container: Container) -> bool:
    """An init container with ``restartPolicy: Always``: a sidecar that runs for the pod's
    lifetime (Kubernetes 1.29+), unlike a regular init container that runs to completion."""
    return (
        container.list_name == "initContainers" and container.raw.get("restartPolicy") == "Always"
    )


def user_namespaced(obj: K8sObject) -> bool:
    """``hostUsers: false``: the pod runs in its own user namespace (root in it is not root)."""
    spec = obj.pod_spec or EMPTY
    return spec.get("hostUsers") is False


def volumes(obj: K8sObject) -> Iterator[tuple[Mapping[str, Any], Path]]:
    """The pod's volumes (well-formed ones) with their paths."""
    spec = obj.pod_spec or EMPTY
    items = spec.get("volumes")
    if not isinstance(items, list):
        return
    for index, volume in enumerate(items):
        if isinstance(volume, dict):
            yield volume, pod_path(obj, "volumes", index)


def volume_mounts(container: Container) -> Iterator[Mapping[str, Any]]:
    """A container's volume mounts (well-formed ones)."""
    mounts = container.raw.get("volumeMounts")
    if isinstance(mounts, list):
        yield from (mount for mount in mounts if isinstance(mount, dict))


def template_labels(obj: K8sObject) -> Mapping[str, Any]:
    """Labels the workload's pods get: the pod template's, or a bare Pod's own."""
    if obj.pod_spec_path is None:
        return EMPTY
    if obj.kind == "Pod" and obj.pod_spec_path == ("spec",):
        return obj.labels
    node: Any = obj.raw
    for key in (*obj.pod_spec_path[:-1], "metadata", "labels"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else EMPTY


def capabilities(container: Container) -> tuple[list[str], list[str]]:
    """``(add, drop)`` capability names of a container (non-strings dropped)."""
    caps = container.security_context.get("capabilities")
    if not isinstance(caps, dict):
        return [], []
    add = caps.get("add")
    drop = caps.get("drop")
    return (
        [c for c in add if isinstance(c, str)] if isinstance(add, list) else [],
        [c for c in drop if isinstance(c, str)] if isinstance(drop, list) else [],
    )


def service_account_name(obj: K8sObject) -> str:
    """The service account the pods run as (``default`` when none is named)."""
    spec = obj.pod_spec or EMPTY
    name = spec.get("serviceAccountName") or spec.get("serviceAccount")
    return name if isinstance(name, str) and name else "default"


# Capabilities a container may add under the Pod Security Standards' baseline profile
# (k8s.io/pod-security-admission policy/check_capabilities_baseline.go).
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Capabilities that on their own allow breaking out of the container or owning the node's
# kernel, network or security modules.
DANGEROUS_CAPABILITIES = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "SYS_MODULE",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_BOOT",
        "DAC_READ_SEARCH",
        "NET_ADMIN",
        "BPF",
        "PERFMON",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
    }
)


def capability_name(raw: str) -> str:
    """``cap_sys_admin`` → ``SYS_ADMIN`` (runtimes accept either spelling)."""
    name = raw.strip().upper()
    return name[4:] if name.startswith("CAP_") else name


def pod_annotations(obj: K8sObject) -> Mapping[str, Any]:
    """The annotations the pods get (pod template annotations for controllers)."""
    if obj.kind == "Pod" and obj.pod_spec_path == ("spec",):
        return obj.annotations
    return obj.pod_template_annotations


def pod_annotation_path(obj: K8sObject, key: str) -> Path:
    if obj.kind == "Pod" and obj.pod_spec_path == ("spec",):
        return ("metadata", "annotations", key)
    base = obj.pod_spec_path or ("spec",)
    return (*base[:-1], "metadata", "annotations", key)
