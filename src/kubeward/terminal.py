"""Text from scanned objects, made safe to show on a terminal.

Object names, annotation values quoted by a policy's message, file names: any of them may hold
an escape sequence (``ESC [ 31 m`` recolours the terminal, ``ESC ] 52`` writes the clipboard on
some terminals), a NUL, a carriage return that overwrites a line, or a bidi override that
shows text in another order than it is. Every such character is shown as its escape instead
(``\\x1b``, ``\\r``, ``\\u202e``), so the reader sees what the object holds and the terminal
interprets nothing. A line break becomes ``\\n`` too, unless the text is allowed several lines
(``multiline=True``, e.g. an error message): one finding stays one row of the table.

Every terminal output of kubeward goes through :func:`printable` (the table report, the
progress line, errors and warnings on stderr); JSON, SARIF, JUnit and HTML escape for their
own format.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL and C1 controls (0x9b is a one-byte CSI on some terminals), and the bidi
# embeddings, overrides and isolates ("Trojan Source")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character (and, unless ``multiline``, every line break)
    replaced by its visible escape."""
    return (_UNSAFE_BUT_NEWLINE if multiline else _UNSAFE).sub(_escape, text)
