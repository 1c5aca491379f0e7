"""The JSON report: ``ScanResult`` encoded as is (camelCase fields, ``schemaVersion``).

The schema is generated from the same types (``schema()``), so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kubeward.model import SCHEMA_VERSION, ScanResult

SCHEMA_ID = "https://github.com/kubeward/kubeward/blob/main/docs/schema/report-v1.json"

_encoder = msgspec.json.Encoder()


def render(result: ScanResult) -> bytearray:
    # Encoded into one growing buffer: ``encode(...) + b"\n"`` would copy a report that runs
    # to tens of megabytes on large corpora.
    buffer = bytearray()
    _encoder.encode_into(result, buffer)
    buffer += b"\n"
    return buffer


def schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the report."""
    generated: dict[str, Any] = msgspec.json.schema(ScanResult)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"kubeward scan report, schema version {SCHEMA_VERSION}",
        **generated,
    }
