"""Type checks for the fields kubeward's rules read.

A manifest such as ``containers: "x"`` or ``spec: []`` would otherwise make every container rule
find nothing to judge and pass silently. The API server rejects such objects; kubeward reports
them as object errors (with the file and line of the offending field) and judges the rest.
"""

from __future__ import annotations

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

# A schema is a Python type (str, bool, int, dict, list), a mapping of field → schema, or a
# one-element list [schema] for "a list whose items follow schema". Only fields that rules read
# are listed; anything else is left to the API server.
Schema = Any

_STR_LIST = [str]
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
_CONTAINER: Mapping[str, Schema] = {
    "name": str,
    "image": str,
    "imagePullPolicy": str,
    "securityContext": _SECURITY_CONTEXT,
    "env": [{"name": str, "value": str, "valueFrom": dict}],
    "envFrom": [dict],
    "ports": [{"containerPort": int, "hostPort": int, "protocol": str}],
    "resources": {"limits": dict, "requests": dict},
    "volumeMounts": [{"name": str, "mountPath": str, "readOnly": bool}],
    "livenessProbe": dict,
    "readinessProbe": dict,
    "startupProbe": dict,
}
_POD_SPEC: Mapping[str, Schema] = {
    "containers": [_CONTAINER],
    "initContainers": [_CONTAINER],
    "ephemeralContainers": [_CONTAINER],
    "volumes": [{"name": str, "hostPath": {"path": str, "type": str}}],
    "hostNetwork": bool,
    "hostPID": bool,
    "hostIPC": bool,
    "hostUsers": bool,
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
    "labels": {"*": str},
    "annotations": {"*": str},
}

_TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    dict: "a mapping",
    list: "a list",
}

# A compiled schema node: ``(leaf_types, nested, wildcard)`` for mappings, where ``leaf_types``
# maps a field to its builtin type and ``nested`` maps a field to a compiled node (a mapping
# node, or ``("list", item)`` for lists); values are compared with ``type(v) is t`` (parsed
# YAML/JSON only produces exact builtin types, and ``type(True) is not int``).
_Node = Any


def _compile(schema: Schema) -> _Node:
    if isinstance(schema, list):
        return ("list", schema[0] if isinstance(schema[0], type) else _compile(schema[0]))
    leaves = {k: v for k, v in schema.items() if isinstance(v, type) and k != "*"}
    nested = {k: _compile(v) for k, v in schema.items() if not isinstance(v, type)}
    return ("map", leaves, nested, schema.get("*"))


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


def _mistyped(
    path: list[Any], expected: type, value: object, errors: list[tuple[Path, str]]
) -> None:
    errors.append((tuple(path), f"must be {_TYPE_NAMES[expected]}, got {_describe(value)}"))


def _check(value: Any, node: _Node, path: list[Any], errors: list[tuple[Path, str]]) -> None:
    """Append ``(path, message)`` for each mistyped field under ``value`` (None = absent)."""
    if node[0] == "list":
        if type(value) is not list:
            _mistyped(path, list, value, errors)
            return
        item = node[1]
        for index, element in enumerate(value):
            if element is None:
                continue
            if type(item) is type:
                if type(element) is not item:
                    path.append(index)
                    _mistyped(path, item, element, errors)
                    path.pop()
            else:
                path.append(index)
                _check(element, item, path, errors)
                path.pop()
        return
    if type(value) is not dict:
        _mistyped(path, dict, value, errors)
        return
    _, leaves, nested, wildcard = node
    if wildcard is not None:
        for key, element in value.items():
            if element is not None and type(element) is not wildcard:
                path.append(key)
                _mistyped(path, wildcard, element, errors)
                path.pop()
        return
    for key, element in value.items():
        if element is None:
            continue
        expected = leaves.get(key)
        if expected is not None:
            if type(element) is not expected:
                path.append(key)
                _mistyped(path, expected, element, errors)
                path.pop()
            continue
        sub = nested.get(key)
        if sub is not None:
            path.append(key)
            _check(element, sub, path, errors)
            path.pop()


_COMPILED_POD_SPEC = _compile(_POD_SPEC)
_COMPILED_METADATA = _compile(_METADATA)


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
    if obj.pod_spec is not None and obj.pod_spec_path is not None:
        _check(obj.pod_spec, _COMPILED_POD_SPEC, list(obj.pod_spec_path), errors)
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
