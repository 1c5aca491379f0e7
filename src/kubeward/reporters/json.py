"""The JSON report: ``ScanResult`` encoded as is (camelCase fields, ``schemaVersion``).

The schema is generated from the same types (``schema()``), so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from kubeward.model import SCHEMA_VERSION, ScanResult
from kubeward.reporters._text import without_surrogates

SCHEMA_ID = "https://github.com/kubeward/kubeward/blob/main/docs/schema/report-v1.json"

_encoder = msgspec.json.Encoder()


def render(result: ScanResult) -> bytearray:
    # Encoded into one growing buffer: ``encode(...) + b"\n"`` would copy a report that runs
    # to tens of megabytes on large corpora.
    buffer = bytearray()
    try:
        _encoder.encode_into(result, buffer)
    except UnicodeEncodeError:  # a lone surrogate somewhere: see ``_encode``
        buffer.clear()
        _encoder.encode_into(_writable(result), buffer)
    buffer += b"\n"
    return buffer


def _writable(value: Any) -> Any:
    """``value`` as the built-in types it is encoded as, with its lone surrogates escaped
    (``kubeward.reporters._text``); encodes to the same JSON as ``value`` otherwise."""
    return without_surrogates(msgspec.to_builtins(value))


def _encode(value: Any) -> bytes:
    try:
        return _encoder.encode(value)
    except UnicodeEncodeError:
        # Only on the rare report with a lone surrogate: the common one is encoded once.
        return _encoder.encode(_writable(value))


# Findings encoded per call of ``render_chunks``: ~5 MB of JSON on the benchmark corpus.
CHUNK_FINDINGS = 10_000
_LISTS_MARKER = b',"findings":[],"suppressed":[],'


def render_chunks(
    result: ScanResult, chunk: int = CHUNK_FINDINGS
) -> Iterator[bytes | bytearray | memoryview]:
    """``render(result)`` in pieces, to be written one after the other.

    Why: the report of a large scan is mostly its findings (85 MB for 173,000 on the
    20,000-object corpus); encoding them ``chunk`` at a time means the whole encoding is never
    held in memory next to the findings themselves. The pieces concatenate to exactly
    ``render(result)``: msgspec writes no whitespace, so a list encoded in parts joined by
    commas is the list encoded at once.
    """
    skeleton = _encode(msgspec.structs.replace(result, findings=[], suppressed=[]))
    # In JSON text a quote inside a string is escaped, so this can only be the two fields.
    cut = skeleton.find(_LISTS_MARKER)
    if cut == -1:  # not the shape this was written for: encode at once
        yield render(result)
        return
    yield memoryview(skeleton)[:cut]
    yield b',"findings":'
    yield from _list_chunks(result.findings, chunk)
    yield b',"suppressed":'
    yield from _list_chunks(result.suppressed, chunk)
    yield b","
    yield memoryview(skeleton)[cut + len(_LISTS_MARKER) :]
    yield b"\n"


def _list_chunks(items: Sequence[Any], chunk: int) -> Iterator[bytes | memoryview]:
    if not items:
        yield b"[]"
        return
    for start in range(0, len(items), chunk):
        encoded = _encode(items[start : start + chunk])
        yield b"[" if start == 0 else b","
        yield memoryview(encoded)[1:-1]
    yield b"]"


def schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the report."""
    generated: dict[str, Any] = msgspec.json.schema(ScanResult)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"kubeward scan report, schema version {SCHEMA_VERSION}",
        **generated,
    }
