"""Type checks for the fields kubeward's rules read.

A manifest such as ``containers: "x"`` or ``spec: []`` would otherwise make every container rule
find nothing to judge and pass silently. The API server rejects such objects; kubeward reports
them as object errors (with the file and line of the offending field) and judges the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kubeward.model.findings import Path
from kubeward.model.objects import (
    BUILTIN_GROUPS,
    BUILTIN_POD_SPEC_PATHS,
    CRD_POD_SPEC_PATHS,
    K8sObject,
    api_group,
)

# A schema is a Python type (str, bool, int, dict, list), a frozenset of types (``INT_OR_STRING``,
# ``QUANTITY``: any of them), a mapping of field → schema (``"*"`` for "every value"), or a
# one-element list [schema] for "a list whose items follow schema". Only fields that rules read
# are listed; anything else is left to the API server. The types are those of k8s.io/api.
Schema = Any

INT_OR_STRING = frozenset({int, str})
"""``intstr.IntOrString`` (ports)."""
QUANTITY = frozenset({str, int, float})
"""``resource.Quantity``: ``"512Mi"``, ``1``, ``0.5``."""

_STR_LIST = [str]
_STR_MAP = {"*": str}
_LABEL_SELECTOR: Mapping[str, Schema] = {
    "matchLabels": _STR_MAP,
    "matchExpressions": [{"key": str, "operator": str, "values": _STR_LIST}],
}
_SECURITY_CONTEXT: Mapping[str, Schema] = {
    "privileged": bool,
    "allowPrivilegeEscalation": bool,
    "readOnlyRootFilesystem": bool,
    "runAsNonRoot": bool,
    "runAsUser": int,
    "runAsGroup": int,
    "procMount": str,
    "capabilities": {"add": _STR_LIST, "drop": _STR_LIST},
    "seccompProfile": {"type": str, "localhostProfile": str},
    "appArmorProfile": {"type": str, "localhostProfile": str},
    "seLinuxOptions": {"type": str, "user": str, "role": str, "level": str},
    "windowsOptions": {"hostProcess": bool},
}
_HANDLER: Mapping[str, Schema] = {
    "exec": {"command": _STR_LIST},
    "httpGet": {"host": str},
    "tcpSocket": {"host": str},
}
_CONTAINER: Mapping[str, Schema] = {
    "name": str,
    "image": str,
    "imagePullPolicy": str,
    "command": _STR_LIST,
    "args": _STR_LIST,
    "securityContext": _SECURITY_CONTEXT,
    "env": [{"name": str, "value": str, "valueFrom": {"secretKeyRef": {"name": str, "key": str}}}],
    "envFrom": [{"prefix": str, "secretRef": {"name": str}}],
    "ports": [{"containerPort": int, "hostPort": int, "protocol": str}],
    "resources": {"limits": {"*": QUANTITY}, "requests": {"*": QUANTITY}},
    "volumeMounts": [{"name": str, "mountPath": str, "readOnly": bool}],
    "livenessProbe": _HANDLER,
    "readinessProbe": _HANDLER,
    "startupProbe": _HANDLER,
    "lifecycle": {"postStart": _HANDLER, "preStop": _HANDLER},
}
_POD_SPEC: Mapping[str, Schema] = {
    "containers": [_CONTAINER],
    "initContainers": [_CONTAINER],
    "ephemeralContainers": [_CONTAINER],
    "volumes": [
        {
            "name": str,
            "hostPath": {"path": str, "type": str},
            "image": {"reference": str, "pullPolicy": str},
        }
    ],
    "hostNetwork": bool,
    "hostPID": bool,
    "hostIPC": bool,
    "hostUsers": bool,
    "shareProcessNamespace": bool,
    "restartPolicy": str,
    "os": {"name": str},
    "serviceAccountName": str,
    "serviceAccount": str,
    "automountServiceAccountToken": bool,
    "securityContext": {
        **_SECURITY_CONTEXT,
        "fsGroup": int,
        "supplementalGroups": [int],
        "sysctls": [{"name": str, "value": str}],
    },
    "imagePullSecrets": [{"name": str}],
}
_METADATA: Mapping[str, Schema] = {
    "name": str,
    "namespace": str,
    "generateName": str,
    "labels": _STR_MAP,
    "annotations": _STR_MAP,
    "ownerReferences": [{"kind": str}],
}

# The fields outside the pod spec that rules read, by kind and API group.
_RBAC_GROUP = "rbac.authorization.k8s.io"
_ROLE: Mapping[str, Schema] = {
    "rules": [
        {
            "verbs": _STR_LIST,
            "apiGroups": _STR_LIST,
            "resources": _STR_LIST,
            "resourceNames": _STR_LIST,
            "nonResourceURLs": _STR_LIST,
        }
    ],
}
_CLUSTER_ROLE: Mapping[str, Schema] = {
    **_ROLE,
    "aggregationRule": {"clusterRoleSelectors": [_LABEL_SELECTOR]},
}
_BINDING: Mapping[str, Schema] = {
    "roleRef": {"apiGroup": str, "kind": str, "name": str},
    "subjects": [{"kind": str, "apiGroup": str, "name": str, "namespace": str}],
}
_SERVICE: Mapping[str, Schema] = {
    "spec": {
        "type": str,
        "selector": _STR_MAP,
        "externalIPs": _STR_LIST,
        "loadBalancerSourceRanges": _STR_LIST,
        "ports": [
            {
                "name": str,
                "protocol": str,
                "port": int,
                "targetPort": INT_OR_STRING,
                "nodePort": int,
            }
        ],
    },
}
_NETWORK_POLICY_PEER: Mapping[str, Schema] = {
    "podSelector": _LABEL_SELECTOR,
    "namespaceSelector": _LABEL_SELECTOR,
    "ipBlock": {"cidr": str, "except": _STR_LIST},
}
_NETWORK_POLICY_PORTS = [{"protocol": str, "port": INT_OR_STRING, "endPort": int}]
_NETWORK_POLICY: Mapping[str, Schema] = {
    "spec": {
        "podSelector": _LABEL_SELECTOR,
        "policyTypes": _STR_LIST,
        "ingress": [{"from": [_NETWORK_POLICY_PEER], "ports": _NETWORK_POLICY_PORTS}],
        "egress": [{"to": [_NETWORK_POLICY_PEER], "ports": _NETWORK_POLICY_PORTS}],
    },
}
_INGRESS: Mapping[str, Schema] = {
    "spec": {
        "ingressClassName": str,
        "defaultBackend": dict,
        "backend": dict,  # extensions/v1beta1, networking.k8s.io/v1beta1
        "tls": [{"hosts": _STR_LIST, "secretName": str}],
        "rules": [{"host": str, "http": {"paths": [dict]}}],
    },
}
_SERVICE_ACCOUNT: Mapping[str, Schema] = {
    "automountServiceAccountToken": bool,
    "secrets": [{"name": str, "namespace": str}],
    "imagePullSecrets": [{"name": str}],
}
# Secret data values are base64 strings; messages name their type, never their value.
_SECRET: Mapping[str, Schema] = {
    "type": str,
    "immutable": bool,
    "data": _STR_MAP,
    "stringData": _STR_MAP,
}
_CONFIG_MAP: Mapping[str, Schema] = {"immutable": bool, "data": _STR_MAP, "binaryData": _STR_MAP}
_NETWORKING_GROUPS = ("networking.k8s.io", "extensions")
_KIND_SCHEMAS: Mapping[str, Mapping[str, Mapping[str, Schema]]] = {
    "Role": {_RBAC_GROUP: _ROLE},
    "ClusterRole": {_RBAC_GROUP: _CLUSTER_ROLE},
    "RoleBinding": {_RBAC_GROUP: _BINDING},
    "ClusterRoleBinding": {_RBAC_GROUP: _BINDING},
    "Service": {"": _SERVICE},
    "NetworkPolicy": dict.fromkeys(_NETWORKING_GROUPS, _NETWORK_POLICY),
    "Ingress": dict.fromkeys(_NETWORKING_GROUPS, _INGRESS),
    "ServiceAccount": {"": _SERVICE_ACCOUNT},
    "Secret": {"": _SECRET},
    "ConfigMap": {"": _CONFIG_MAP},
}

_TYPE_NAMES: Mapping[type | frozenset[type], str] = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    dict: "a mapping",
    list: "a list",
    INT_OR_STRING: "an integer or a string",
    QUANTITY: "a string or a number",
}

# A compiled schema node: ``("map", leaves, nested, wildcard, same)`` for mappings, where
# ``leaves`` maps a field to its leaf (a builtin type, or a frozenset of them), ``nested`` maps a
# field to a compiled node, and ``wildcard`` is the leaf of every value (``"*"``) or None;
# ``("list", item, flat, same)`` for lists, ``item`` a leaf or a node. ``same`` (last in both)
# is the leaf of every item or value (lists of strings, maps of strings or quantities) or None:
# such nodes are checked in their parent's loop, without a call when all is well; ``flat`` is the
# ``leaves`` of items that are mappings of leaves only (``env``, ``ports``), checked in the
# list's loop. Values are compared with ``type(v) is t`` (parsed YAML/JSON only produces exact
# builtin types, and ``type(True) is not int``); a frozenset leaf is only looked into when that
# fails.
_Node = Any
_Leaf = type | frozenset[type]


def _is_leaf(schema: Schema) -> bool:
    return isinstance(schema, type | frozenset)


def _compile(schema: Schema) -> _Node:
    if isinstance(schema, list):
        item = schema[0]
        if _is_leaf(item):
            return ("list", item, None, item)
        compiled = _compile(item)
        _, leaves, nested, wildcard, _ = compiled
        flat = leaves if not nested and wildcard is None else None
        return ("list", compiled, flat, None)
    leaves = {k: v for k, v in schema.items() if _is_leaf(v) and k != "*"}
    nested = {k: _compile(v) for k, v in schema.items() if not _is_leaf(v)}
    wildcard = schema.get("*")
    same = wildcard if not leaves and not nested else None
    return ("map", leaves, nested, wildcard, same)


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def shown(value: object, absent: str = "(unset)") -> str:
    """A field's value for a finding's message: a string or a number as written, ``absent``
    for null, else what it is ("(a list)"): never a Python repr (``None``, ``['x']``, ``nan``)
    of a wrongly-typed field, which the object errors report anyway."""
    if value is None:
        return absent
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    return f"({_describe(value)})"


def _mistyped(
    path: list[Any], expected: _Leaf, value: object, errors: list[tuple[Path, str]]
) -> None:
    # The type of the value only, never the value: it may be a Secret's.
    errors.append((tuple(path), f"must be {_TYPE_NAMES[expected]}, got {_describe(value)}"))


def _check(value: Any, node: _Node, path: list[Any], errors: list[tuple[Path, str]]) -> None:
    """Append ``(path, message)`` for each mistyped field under ``value`` (None = absent)."""
    if node[0] == "list":
        if type(value) is not list:
            _mistyped(path, list, value, errors)
            return
        _, item, flat, same = node
        for index, element in enumerate(value):
            if element is None:
                continue
            if same is not None:
                if type(element) is not same and (type(same) is type or type(element) not in same):
                    path.append(index)
                    _mistyped(path, same, element, errors)
                    path.pop()
                continue
            if flat is not None and type(element) is dict:  # e.g. env: checked here when right
                for key, field in element.items():
                    expected = flat.get(key)
                    if (
                        expected is not None
                        and field is not None
                        and type(field) is not expected
                        and (type(expected) is type or type(field) not in expected)
                    ):
                        break
                else:
                    continue
            path.append(index)
            _check(element, item, path, errors)
            path.pop()
        return
    if type(value) is not dict:
        _mistyped(path, dict, value, errors)
        return
    _, leaves, nested, wildcard, _ = node
    if wildcard is not None:
        single = type(wildcard) is type
        for key, element in value.items():
            if (
                element is not None
                and type(element) is not wildcard
                and (single or type(element) not in wildcard)
            ):
                path.append(key)
                _mistyped(path, wildcard, element, errors)
                path.pop()
        return
    for key, element in value.items():
        if element is None:
            continue
        expected = leaves.get(key)
        if expected is not None:
            if type(element) is not expected and (
                type(expected) is type or type(element) not in expected
            ):
                path.append(key)
                _mistyped(path, expected, element, errors)
                path.pop()
            continue
        sub = nested.get(key)
        if sub is not None:
            same = sub[-1]
            if same is not None:  # all items or values of one type: checked here when right
                if sub[0] == "list":
                    if type(element) is list:
                        for item in element:
                            if (
                                type(item) is not same
                                and item is not None
                                and (type(same) is type or type(item) not in same)
                            ):
                                break
                        else:
                            continue
                elif type(element) is dict:
                    for item in element.values():
                        if (
                            type(item) is not same
                            and item is not None
                            and (type(same) is type or type(item) not in same)
                        ):
                            break
                    else:
                        continue
            path.append(key)
            _check(element, sub, path, errors)
            path.pop()


_COMPILED_POD_SPEC = _compile(_POD_SPEC)
_COMPILED_METADATA = _compile(_METADATA)
_COMPILED_KINDS: Mapping[str, Mapping[str, _Node]] = {
    kind: {group: _compile(schema) for group, schema in by_group.items()}
    for kind, by_group in _KIND_SCHEMAS.items()
}
# Where a pod template keeps its metadata: the template of each known pod spec path
# (``spec.template.spec`` → ``spec.template``); a Pod's own metadata is checked as the object's.
_TEMPLATES: Mapping[Path, Path] = {
    path: path[:-1]
    for path in (*BUILTIN_POD_SPEC_PATHS.values(), *CRD_POD_SPEC_PATHS.values())
    if len(path) > 1
}


def _expected_pod_spec_path(obj: K8sObject) -> Path | None:
    group = api_group(obj.api_version)
    if group in BUILTIN_GROUPS:
        return BUILTIN_POD_SPEC_PATHS.get(obj.kind)
    return CRD_POD_SPEC_PATHS.get((group, obj.kind))


def shape_errors(obj: K8sObject) -> list[tuple[Path, str]]:
    """``(path, message)`` for each field (that rules read) with the wrong type."""
    errors: list[tuple[Path, str]] = []
    raw = obj.raw
    meta = raw.get("metadata")
    if meta is not None:
        _check(meta, _COMPILED_METADATA, ["metadata"], errors)
    pod_spec_path = obj.pod_spec_path
    if obj.pod_spec is not None and pod_spec_path is not None:
        _check(obj.pod_spec, _COMPILED_POD_SPEC, list(pod_spec_path), errors)
        template_path = _TEMPLATES.get(pod_spec_path)
        if template_path is not None:
            template: Any = raw
            for key in template_path:  # mappings all the way: the pod spec was found below
                template = template[key]
            template_meta = template.get("metadata")
            if template_meta is not None:
                _check(template_meta, _COMPILED_METADATA, [*template_path, "metadata"], errors)
        return errors
    by_group = _COMPILED_KINDS.get(obj.kind)
    if by_group is not None:
        schema = by_group.get(api_group(obj.api_version))
        if schema is not None:
            _check(raw, schema, [], errors)
            return errors
    expected = _expected_pod_spec_path(obj)
    if expected is None:
        return errors
    node: Any = raw
    for depth, key in enumerate(expected):
        if type(node) is not dict:
            errors.append((expected[:depth], f"must be a mapping, got {_describe(node)}"))
            return errors
        node = node.get(key)
        if node is None:
            return errors
    if type(node) is not dict:
        errors.append((expected, f"must be a mapping, got {_describe(node)}"))
    return errors
