"""Secret values kept out of reach: what every enforcement point strips from a Secret.

Rules need a Secret's type and metadata, never its values; a message computed from the object
(a Rego ``sprintf``, an error that quotes its operand) must not be able to quote one. The
webhook, the cluster audit and users' Rego policies all go through these two functions.
"""

from __future__ import annotations

import json
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REDACTED = "(redacted by kubeward)"


def redact_secret_metadata(item: dict[str, Any]) -> None:
    """Drop Secret values that metadata can carry: a last-applied copy of the Secret."""
    meta = item.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or LAST_APPLIED not in annotations:
        return
    try:
        embedded = json.loads(str(annotations[LAST_APPLIED]))
    except (ValueError, RecursionError):
        embedded = None
    if not isinstance(embedded, dict):
        annotations[LAST_APPLIED] = REDACTED
        return
    for section in ("data", "stringData"):
        values = embedded.get(section)
        if isinstance(values, dict):
            embedded[section] = {
                key: (REDACTED if value not in (None, "") else value)
                for key, value in values.items()
            }
    annotations[LAST_APPLIED] = json.dumps(embedded)


def without_secret_values(raw: dict[str, Any]) -> dict[str, Any]:
    """A Secret without its values (data, stringData, a last-applied copy); any other object
    as it is. The input is not modified."""
    if raw.get("kind") != "Secret":
        return raw
    copy = {k: v for k, v in raw.items() if k not in ("data", "stringData")}
    meta = raw.get("metadata")
    if isinstance(meta, dict):
        copy["metadata"] = dict(meta)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            copy["metadata"]["annotations"] = dict(annotations)
        redact_secret_metadata(copy)
    return copy
