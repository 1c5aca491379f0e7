"""Splitting a YAML stream into documents, cheaply, so each one is parsed (and fails) alone.

A line that starts with ``---`` followed by a space, tab or line end begins a new document
(YAML forbids that sequence at column 0 inside content, so this is exact). Streams with
``...`` end markers or ``%`` directives are rare and returned whole: the exact loader handles
every document form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BLANK = re.compile(rb"^(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*(?:#[^\n]*)?$")
_SEPARATOR_FOLLOW = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class Span:
    """One document of a stream: byte range and the file line where it starts (1-based)."""

    start: int
    end: int
    line: int


def split_documents(data: bytes) -> list[Span] | None:
    """Documents of ``data``; None if the stream uses ``...`` or directives (parse it whole)."""
    # ``b"%" in data`` first: a one-byte search runs at memory speed, while ``b"\n%"`` took
    # ~0.15 ms per 150 kB file (newlines are everywhere), and "%" is rare in manifests.
    if data.startswith((b"...", b"%")) or b"\n..." in data or (b"%" in data and b"\n%" in data):
        return None
    starts: list[int] = []
    if data.startswith(b"---") and (len(data) == 3 or data[3] in _SEPARATOR_FOLLOW):
        starts.append(0)
    find = data.find
    pos = find(b"\n---")
    while pos != -1:
        after = pos + 4
        if after == len(data) or data[after] in _SEPARATOR_FOLLOW:
            starts.append(pos + 1)
        pos = find(b"\n---", pos + 1)
    spans: list[Span] = []
    line, prev = 1, 0
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
        head_is_doc = not _BLANK.match(data, 0, starts[1] if len(starts) > 1 else len(data))
    else:
        head_is_doc = True
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        line += data.count(b"\n", prev, start)
        prev = start
        if i == 0 and not head_is_doc:
            continue
        spans.append(Span(start, end, line))
    return spans
