"""Text from scanned objects, made safe to show on a terminal.

Object names, annotation values quoted by a policy's message, file names: any of them may hold
an escape sequence (``ESC [ 31 m`` recolours the terminal, ``ESC ] 52`` writes the clipboard on
some terminals), a NUL, a carriage return that overwrites a line, or a bidi override that
shows text in another order than it is, an invisible character (a zero-width space, a soft
hyphen) that makes two names look alike, a line or paragraph separator that starts a new line in
the table, or a lone surrogate (a ``\\ud800`` escape in a JSON manifest, a byte of a file name
that is not UTF-8) that no UTF-8 output can carry. Every such character is shown as its escape
instead (``\\x1b``, ``\\r``, ``\\u202e``, ``\\U000e0041``), so the reader sees what the
object holds and the terminal interprets nothing. A line break becomes ``\\n`` too, unless the
text is allowed several lines (``multiline=True``, e.g. an error message): one finding stays one
row of the table.

Every terminal output of kubeward goes through :func:`printable` (the table report, the
progress line, errors and warnings on stderr); JSON, SARIF, JUnit and HTML escape for their
own format.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Unicode's format characters (category Cf: the bidi embeddings, overrides and isolates of
# "Trojan Source", zero-width spaces and joiners, the byte order mark, soft hyphen, tag
# characters), the line and paragraph separators (Zl, Zp) and the surrogates (Cs), as of
# Unicode 15.1; tests/test_terminal.py checks the list against the running Python's unicodedata.
_INVISIBLE = (
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd"
    "\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
# C0 controls, DEL and C1 controls (0x9b is a one-byte CSI on some terminals), and the above
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character (and, unless ``multiline``, every line break)
    replaced by its visible escape."""
    return (_UNSAFE_BUT_NEWLINE if multiline else _UNSAFE).sub(_escape, text)
