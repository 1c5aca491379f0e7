"""Text that UTF-8 cannot carry, made writable for the machine formats (JSON, SARIF).

A lone surrogate reaches a scan result from a ``\\ud800`` escape in a JSON manifest or from a
file name that is not UTF-8 (Python decodes its bytes as ``\\udcff``). No UTF-8 encoder writes
one, so the report would fail as a whole: each is written as its escape instead (``\\ud800``, as
JUnit and the table show it), which is what the object holds, in a form every reader can parse.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def without_surrogates(value: Any) -> Any:
    """``value`` (built-in types: str, list, dict, numbers) with every lone surrogate of its
    strings, keys included, written as its escape."""
    if isinstance(value, str):
        return _SURROGATE.sub(_escape, value)
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_surrogates(item) for item in value]
    return value
