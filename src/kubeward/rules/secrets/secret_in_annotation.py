"""## What it does
Flags annotations that hold a credential, on objects of every kind and on the pod templates of
workloads:

- an annotation whose name says it holds a credential (`example.com/db-password`,
  `.../api-token`; judged on the part after the prefix) with a value that is not obviously
  benign. Annotations that *name* a Secret or a path in a secret manager, as many
  controllers' annotations do (`nginx.ingress.kubernetes.io/auth-secret: basic-auth`, Vault
  agent paths), Helm's `checksum/*` digests and other checksums (`.../secrets-checksum`) are
  not reported;
- a value with the shape of a known credential (cloud keys, private keys, JWTs, service tokens,
  connection strings with a password), or text that sets one (`kubernetes.io/change-cause:
  kubectl set env ... DB_PASSWORD=...`, JSON with a `"password"`), also once base64-decoded;
- `kubectl.kubernetes.io/last-applied-configuration`, which `kubectl apply` fills with the
  whole object as applied: on a Secret with `data` or `stringData` it is a second copy of every
  value (the finding lists the keys; empty values and `${VAR}`/`{{ template }}` placeholders
  do not count, as in S007); on other kinds it is reported when the copied object has a
  credential in a container's `env`, `command` or `args`, in ConfigMap `data` or `binaryData`,
  or in its annotations.

The finding names the annotation and what was detected; the value is never printed.

## Why is this bad?
Annotations are metadata, and metadata is handled as harmless: tools that mask a Secret's
`data` (diffs, dashboards, support bundles, backups) print annotations as they are, and the
annotations of a workload or a ConfigMap are readable by everyone who may `get` that kind, the
built-in `view` ClusterRole included. The `last-applied-configuration` annotation of a Secret
holds the same values as its `data`, and its `stringData` values in plain text
(kubernetes/kubernetes#23564); on a workload or a ConfigMap it repeats any literal credential
of the object.

## Example
```yaml
apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"hunter2"}}
```

Use instead: remove the annotation (`kubectl annotate secret db
kubectl.kubernetes.io/last-applied-configuration-`) and create Secrets in ways that do not add
it: server-side apply (`kubectl apply --server-side`), `kubectl create secret` without
`--save-config`, or an external secret store. Keep credentials out of annotations.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import K8sObject, Path, Severity, Violation
from kubeward.model.objects import CONTAINER_LISTS, pod_spec_path
from kubeward.rules._base import RuleParams, Target, rule
from kubeward.rules._common.secrets import (
    Detection,
    as_text,
    decode_base64,
    detect,
    detect_annotation,
    detect_args,
    detect_text,
    placeholder,
)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_LISTED_KEYS = 10


@rule(
    id="S003",
    name="secret-in-annotation",
    title="Credential stored in an annotation",
    severity=Severity.HIGH,
    target=Target(every_kind=True),
    remediation="Remove the credential (or the last-applied-configuration) from the annotations.",
    references=(
        "https://github.com/kubernetes/kubernetes/issues/23564",
        "https://kubernetes.io/docs/reference/labels-annotations-taints/#kubectl-kubernetes-io-last-applied-configuration",
    ),
)
def secret_in_annotation(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    yield from _scan(obj.annotations, ("metadata", "annotations"))
    if obj.pod_spec_path is not None and len(obj.pod_spec_path) >= 2:
        base = (*obj.pod_spec_path[:-1], "metadata", "annotations")
        yield from _scan(obj.pod_template_annotations, base)


def _scan(annotations: Mapping[Any, Any], base: Path) -> Iterator[Violation]:
    for key, value in annotations.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        if key == LAST_APPLIED:
            message = _last_applied(value)
            if message is not None:
                yield Violation((*base, key), message)
            continue
        found = detect_annotation(key, value)
        if found is not None:
            yield Violation((*base, key), f"annotation {key!r} holds a credential: {found.reason}")


def _last_applied(value: str) -> str | None:
    """What the copy of the object in the annotation leaks, or None (also if it is not JSON)."""
    if not value.lstrip().startswith("{"):
        return None
    try:
        embedded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(embedded, dict):
        return None
    if embedded.get("kind") == "Secret":
        plain = _filled_keys(embedded.get("stringData"))
        encoded = _filled_keys(embedded.get("data"))
        if not plain and not encoded:
            return None
        parts = []
        if plain:
            parts.append(f"stringData {_list(plain)} in plain text")
        if encoded:
            parts.append(f"data {_list(encoded)} in base64")
        return (
            "the last-applied-configuration annotation is a second copy of the Secret's values: "
            + " and ".join(parts)
        )
    leak = _embedded_leak(embedded)
    if leak is None:
        return None
    where, found = leak
    return f"the last-applied-configuration annotation repeats {where}: {found.reason}"


def _filled_keys(values: object) -> list[str]:
    """Keys with a value: not empty, and not a placeholder filled in at deploy time (S007)."""
    if not isinstance(values, dict):
        return []
    return [
        str(key)
        for key, value in values.items()
        if value is not None and value != "" and not placeholder(value)
    ]


def _list(keys: list[str]) -> str:
    shown = ", ".join(repr(key) for key in keys[:_LISTED_KEYS])
    more = len(keys) - _LISTED_KEYS
    return f"{shown} and {more} more" if more > 0 else shown


def _embedded_leak(embedded: dict[str, Any]) -> tuple[str, Detection] | None:
    """The first credential in the object copied into the annotation: (where, detection)."""
    kind = embedded.get("kind")
    if kind == "ConfigMap":
        data = embedded.get("data")
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(key, str) and isinstance(value, str):
                    found = detect(key, value)
                    if found is not None:
                        return f"ConfigMap key {key!r}", found
        binary = embedded.get("binaryData")
        if isinstance(binary, dict):
            for key, value in binary.items():
                if isinstance(key, str) and isinstance(value, str):
                    found = _binary_leak(key, value)
                    if found is not None:
                        return f"ConfigMap binaryData key {key!r}", found
    api_version = embedded.get("apiVersion")
    path = pod_spec_path(
        api_version if isinstance(api_version, str) else "",
        kind if isinstance(kind, str) else "",
        embedded,
    )
    spec = _dig(embedded, path) if path is not None else None
    if isinstance(spec, dict):
        for list_name in CONTAINER_LISTS:
            containers = spec.get(list_name)
            if isinstance(containers, list):
                for container in containers:
                    if isinstance(container, dict):
                        leak = _container_leak(container)
                        if leak is not None:
                            return leak
    meta = embedded.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(annotations, dict):
        for key, value in annotations.items():
            if isinstance(key, str) and isinstance(value, str) and key != LAST_APPLIED:
                found = detect_annotation(key, value)
                if found is not None:
                    return f"annotation {key!r}", found
    return None


def _binary_leak(key: str, value: str) -> Detection | None:
    """A credential in a ``binaryData`` value that decodes to text (as S002 judges it)."""
    decoded = decode_base64(value)
    text = as_text(decoded) if decoded is not None else None
    if text is None:
        return None
    found = detect_text(text, name=key)
    return Detection(f"once base64-decoded, {found.reason}") if found is not None else None


def _container_leak(container: dict[str, Any]) -> tuple[str, Detection] | None:
    name = container.get("name")
    label = f'container "{name}"' if isinstance(name, str) else "a container"
    env = container.get("env")
    if isinstance(env, list):
        for var in env:
            if isinstance(var, dict):
                var_name, value = var.get("name"), var.get("value")
                if isinstance(var_name, str) and isinstance(value, str):
                    found = detect(var_name, value)
                    if found is not None:
                        return f"the environment variable {var_name} of {label}", found
    for field in ("command", "args"):
        items = container.get(field)
        if isinstance(items, list):
            for _, found in detect_args(items):
                return f"the {field} of {label}", found
    return None


def _dig(raw: dict[str, Any], path: Path) -> object:
    node: object = raw
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node
