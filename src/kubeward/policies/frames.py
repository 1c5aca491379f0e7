"""The pipe protocol between kubeward and its policy processes (the Rego sandbox, the CEL
worker): each message is a 4-byte big-endian length, then the payload."""

from __future__ import annotations

import struct
from typing import BinaryIO


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next message on ``stream``; None once the other side has closed it."""
    header = _read_exact(stream, 4)
    if header is None:
        return None
    (size,) = struct.unpack(">I", header)
    return _read_exact(stream, size)


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
