"""Secret values kept out of reach: what every enforcement point strips from a Secret.

Rules and users' policies need a Secret's type, metadata and the *names* of its keys, never
its values; a message computed from the object (a Rego ``sprintf``, an error that quotes its
operand) must not be able to quote one. The webhook (``object`` and ``oldObject``), users'
policies in a scan or an audit, and Secrets read from a cluster all go through these two
functions.

Every key of ``data`` and ``stringData`` is kept. A value that is empty (``""`` or null) stays
as it is; any other value is replaced by a fixed marker: ``REDACTED`` in ``stringData``, its
base64 encoding ``REDACTED_BASE64`` in ``data`` (so a policy that decodes a value decodes the
marker, and ``size(...) > 0`` holds exactly for the values that are not empty). Whether a
value is empty is all that is kept of it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REDACTED = "(redacted by kubeward)"
"""What a ``stringData`` value (or a last-applied copy's value) is replaced by."""
REDACTED_BASE64 = base64.b64encode(REDACTED.encode()).decode()
"""What a ``data`` value is replaced by: ``REDACTED`` in base64, as ``data`` values are."""
SECTIONS = {"data": REDACTED_BASE64, "stringData": REDACTED}
"""A Secret's sections that hold values, and the marker of each."""


def redacted(values: object, marker: str) -> object:
    """A ``data``/``stringData`` map with every key and no value: empty values stay, the
    others become ``marker``. Anything that is not a map (invalid in a Secret) becomes
    ``marker`` whole, as it could be a value."""
    if values is None:
        return None
    if not isinstance(values, dict):
        return marker
    return {key: (value if value in (None, "") else marker) for key, value in values.items()}


def is_redacted(value: object) -> bool:
    """A value replaced by ``without_secret_values`` (not the Secret's own)."""
    return value in (REDACTED, REDACTED_BASE64)


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
    for section, marker in SECTIONS.items():
        if section in embedded:
            embedded[section] = redacted(embedded[section], marker)
    annotations[LAST_APPLIED] = json.dumps(embedded)


def without_secret_values(raw: dict[str, Any]) -> dict[str, Any]:
    """A Secret without its values (``data`` and ``stringData`` keep their keys, see the
    module; a last-applied copy keeps its keys); any other object as it is. The input is not
    modified."""
    if raw.get("kind") != "Secret":
        return raw
    copy = dict(raw)
    for section, marker in SECTIONS.items():
        if section in copy:
            copy[section] = redacted(copy[section], marker)
    meta = raw.get("metadata")
    if isinstance(meta, dict):
        copy["metadata"] = dict(meta)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            copy["metadata"]["annotations"] = dict(annotations)
        redact_secret_metadata(copy)
    return copy
