"""The built-in kinds a user policy may name, where the API serves them, and the check that a
named kind can match anything at all."""

from __future__ import annotations

KIND_RESOURCES: dict[str, tuple[str, str]] = {
    "Pod": ("", "pods"), "PodTemplate": ("", "podtemplates"),
    "ReplicationController": ("", "replicationcontrollers"), "Service": ("", "services"),
    "ConfigMap": ("", "configmaps"), "Secret": ("", "secrets"), "Namespace": ("", "namespaces"),
    "ServiceAccount": ("", "serviceaccounts"), "PersistentVolume": ("", "persistentvolumes"),
    "PersistentVolumeClaim": ("", "persistentvolumeclaims"),
    "Deployment": ("apps", "deployments"), "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"), "ReplicaSet": ("apps", "replicasets"),
    "Job": ("batch", "jobs"), "CronJob": ("batch", "cronjobs"),
    "Ingress": ("networking.k8s.io", "ingresses"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "Role": ("rbac.authorization.k8s.io", "roles"),
    "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings"),
}  # fmt: skip
"""Built-in kinds a user policy may name, and where the API serves them (``admission
export-vap`` exports a policy on these kinds)."""

_VARIANTS: dict[str, str] = {
    variant: kind
    for kind, (_, resource) in KIND_RESOURCES.items()
    for variant in (kind.lower(), f"{kind.lower()}s", resource)
}
"""A built-in kind's lower-case spelling, plural and resource name → the kind."""


def kind_problem(kind: str) -> str | None:
    """Why ``kind`` can never be an object's kind (None: it can). Kinds are CamelCase and
    singular, and compared exactly: ``deployment`` or ``Deployments`` would match nothing.
    Other CamelCase kinds are custom resources' and are accepted."""
    meant = _VARIANTS.get(kind.lower())
    if meant is not None and meant != kind:
        return f"{kind!r} is not a kind: kinds are compared exactly, did you mean {meant!r}?"
    if not kind[:1].isupper():
        return f"{kind!r} is not a kind: kinds are CamelCase and singular (e.g. Deployment)"
    return None
