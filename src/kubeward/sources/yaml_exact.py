"""The exact YAML loader: Kubernetes' YAML semantics, with line numbers and safety limits.

Kubernetes (kubectl, the API server, Helm) reads YAML with ``sigs.k8s.io/yaml``, which is
go-yaml v2 (YAML 1.1 scalars) followed by a conversion to JSON. So ``privileged: yes`` is
``true``, ``0755`` is octal, ``1e3`` is a number, ``2001-12-14`` is a timestamp, map keys
become strings, ``<<`` merges mappings and a duplicate key silently keeps the last value.
PyYAML's own constructors differ on several of these, and a scanner that reads a manifest
differently from the cluster can be bypassed, so this module builds Python values from
libyaml's *event stream* (PyYAML's C parser) and resolves scalars the way go-yaml v2 does
(``go.yaml.in/yaml/v2`` ``resolve.go``; ``sigs.k8s.io/yaml`` ``convertToJSONableObject``).

Building from events, with an explicit stack instead of recursion, also lets it
- record the line of every key and sequence item (for file:line in reports),
- report duplicate keys (last one wins, as in Kubernetes),
- stop alias bombs ("billion laughs") by counting the nodes aliases expand to,
- stop pathological nesting at ``MAX_DEPTH`` levels,
all with a ``ManifestError`` that names the line, never a crash.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from kubeward.errors import ManifestError
from kubeward.model import Path

MAX_DEPTH = 200
"""Deepest nesting accepted; real Kubernetes objects stay well under 40 levels."""
MAX_NODES = 1_000_000
"""Most nodes one document may expand to, counting every alias expansion."""

_BOOL_NULL: dict[str, Any] = {
    **dict.fromkeys(
        ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True
    ),
    **dict.fromkeys(
        ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False
    ),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_FLOAT_DOT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:([Tt])|[ ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(Z|[-+]\d{2}:\d{2})?)?$"
)
_MERGE = "<<"
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


class _Merge:
    """Marker for a plain ``<<`` key."""


MERGE_KEY = _Merge()


_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _go_parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` then ``ParseUint``: sign, 0x/0o/0b, leading-0 octal."""
    sign, body = 1, text
    if body[:1] in ("+", "-"):
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    base, digits = 10, body
    if len(body) > 1 and body[0] == "0":
        prefix = body[1].lower()
        base, digits = {"x": (16, body[2:]), "o": (8, body[2:]), "b": (2, body[2:])}.get(
            prefix, (8, body[1:])
        )
    if not digits or any(c not in _DIGITS[base] for c in digits):
        return None
    value = sign * int(digits, base)
    if _INT64[0] <= value <= _INT64[1] or (sign > 0 and value <= _UINT64_MAX):
        return value
    return None


def _timestamp(text: str) -> str | None:
    """A go-yaml v2 timestamp, rendered as Go's ``time.Time`` JSON (RFC 3339, nanoseconds)."""
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    year, month, day, t_sep, hh, mm, ss, frac, zone = match.groups()
    if hh is not None and t_sep is None and zone is not None:
        return None  # "2006-1-2 15:4:5" takes no zone in go-yaml v2's layouts
    if hh is not None and t_sep is not None and zone is None:
        return None  # the T layouts require a zone
    try:
        moment = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None
    out = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        frac = frac.rstrip("0")
        if frac:
            out += "." + frac
    return out + ("Z" if zone in (None, "Z", "+00:00") else zone)


def resolve_plain(text: str) -> Any:
    """Type an untagged plain scalar exactly as go-yaml v2's ``resolve("", text)`` does."""
    if text in _BOOL_NULL:
        return _BOOL_NULL[text]
    first = text[0]
    if first == ".":
        if _GO_FLOAT_DOT.match(text):
            return float(text)
        return text
    if first in "+-0123456789":
        stamp = _timestamp(text)
        if stamp is not None:
            return stamp
        plain = text.replace("_", "")
        as_int = _go_parse_int(plain)
        if as_int is not None:
            return as_int
        if _FLOAT.match(plain):
            return float(plain)
    return text


def _undecodable(text: str, tag: str) -> str:
    # The scalar itself is never quoted: it may be a Secret's value (a private key under
    # ``!!int``), and which object it belongs to is not known yet.
    return f"a scalar tagged {tag} cannot be decoded as {tag} (it is {len(text)} characters long)"


def _resolve_tagged(tag: str, text: str, line: int) -> Any:
    short = tag.replace("tag:yaml.org,2002:", "!!")
    if short in ("!!str", "!!binary"):
        return text
    if short == "!!timestamp":
        stamp = _timestamp(text)
        if stamp is None:
            raise ManifestError(_undecodable(text, "!!timestamp"), line=line)
        return stamp
    if short in ("!!bool", "!!int", "!!float", "!!null"):
        value = resolve_plain(text)
        ok = {
            "!!bool": isinstance(value, bool),
            "!!int": isinstance(value, int) and not isinstance(value, bool),
            "!!float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "!!null": value is None,
        }[short]
        if not ok:
            raise ManifestError(_undecodable(text, short), line=line)
        return float(value) if short == "!!float" else value
    # go-yaml v2 keeps the string of a scalar with a tag it does not know.
    return text


_YAML_TYPE_NAMES = {list: "sequence", dict: "mapping", type(None): "null"}


def _key_string(key: Any, line: int) -> str:
    """JSON object keys, as ``sigs.k8s.io/yaml`` converts go-yaml v2 keys."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _go_float32_g(key)
    raise ManifestError(
        f"unsupported map key of type {_YAML_TYPE_NAMES.get(type(key), type(key).__name__)} "
        "(keys must be strings, numbers or booleans)",
        line=line,
    )


def _go_float32_g(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 32)`` with YAML names for inf and nan."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    as32 = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{as32:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == as32:
            break
    mantissa, _, exponent = text.partition("e")
    if exponent:
        sign = exponent[0]
        exp_digits = exponent[1:].lstrip("0").rjust(2, "0")
        return f"{mantissa}e{sign}{exp_digits}"
    return mantissa


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: Path
    line: int
    anchor: str | None
    nodes: int = 1
    key: Any = None
    key_line: int = 0
    has_key: bool = False
    explicit_keys: dict[str, int] = field(default_factory=dict)


@dataclass
class ExactDocument:
    """One document's value and the line of every key and item in it."""

    value: Any
    lines: dict[Path, int]
    duplicates: list[tuple[Path, int, int]]
    """``(path, first line, repeated line)`` for each duplicated key; the last value won."""
    start_line: int


_ODD_BREAK = re.compile("[\x85\u2028\u2029]|\r(?!\n)")
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _lf_lines(text: str) -> list[int] | None:
    """For each line as libyaml counts them, the line as kubeward counts them (0-based), when
    the two differ.

    libyaml (like go-yaml) also breaks lines at NEL, LS and PS (and a lone CR), which editors
    show inside a line; the fast path, the document splitter and every editor count LF only.
    """
    if _ODD_BREAK.search(text) is None:
        return None
    lines, lf = [0], 0
    for match in _BREAK.finditer(text):
        lf += match.group().endswith("\n")
        lines.append(lf)
    return lines


def load(text: str, *, first_line: int = 1, limits: bool = True) -> Iterator[ExactDocument]:
    """Parse every document of ``text``; raises ``ManifestError`` (with a line) on bad input.

    ``first_line`` is the file line where ``text`` starts, so lines are file lines.
    ``limits=False`` lifts ``MAX_NODES`` and ``MAX_DEPTH``: for text already parsed as JSON,
    which has no aliases to expand, only its size to bound.
    """
    events = yaml.parse(text, Loader=yaml.CSafeLoader)
    mapped = _lf_lines(text)
    max_nodes, max_depth = (MAX_NODES, MAX_DEPTH) if limits else (math.inf, math.inf)
    try:
        while True:
            try:
                event = next(events)
            except StopIteration:
                return
            if isinstance(event, yaml.DocumentStartEvent):
                yield _build_document(events, first_line, mapped, max_nodes, max_depth)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = _file_line(mark.line, first_line, mapped) if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"{context}: {problem}" if context else str(problem)
        raise ManifestError(f"invalid YAML: {message}", line=line) from None


def _file_line(mark_line: int, offset: int, mapped: list[int] | None) -> int:
    if mapped is None:
        return mark_line + offset
    return mapped[min(mark_line, len(mapped) - 1)] + offset


def _build_document(
    events: Iterator[Any],
    offset: int,
    mapped: list[int] | None,
    max_nodes: float,
    max_depth: float,
) -> ExactDocument:
    lines: dict[Path, int] = {}
    duplicates: list[tuple[Path, int, int]] = []
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    total = 0
    result: Any = None
    have_result = False
    start_line: int | None = None

    def attach(value: Any, line: int, nodes: int) -> None:
        nonlocal result, have_result
        if not stack:
            result, have_result = value, True
            return
        top = stack[-1]
        top.nodes += nodes
        if isinstance(top.container, list):
            path = (*top.path, len(top.container))
            lines.setdefault(path, line)
            top.container.append(value)
            return
        if not top.has_key:
            if isinstance(value, (dict, list)):
                raise ManifestError("a mapping or list cannot be a map key", line=line)
            top.key = MERGE_KEY if value is MERGE_KEY else _key_string(value, line)
            top.key_line, top.has_key = line, True
            return
        key, key_line = top.key, top.key_line
        top.has_key = False
        if key is MERGE_KEY:
            _merge(top.container, value, key_line)
            return
        path = (*top.path, key)
        if key in top.explicit_keys:
            duplicates.append((path, top.explicit_keys[key], key_line))
        top.explicit_keys[key] = key_line
        lines[path] = key_line
        top.container[key] = value

    for event in events:
        line = (
            event.start_mark.line + offset
            if mapped is None
            else _file_line(event.start_mark.line, offset, mapped)
        )
        if start_line is None and not isinstance(event, yaml.DocumentEndEvent):
            start_line = line
        if isinstance(event, yaml.ScalarEvent):
            total += 1
            if event.tag and event.tag != "!":
                value: Any = _resolve_tagged(event.tag, event.value, line)
            elif event.implicit[0]:
                in_key_position = (
                    bool(stack) and isinstance(stack[-1].container, dict) and not stack[-1].has_key
                )
                if in_key_position and event.value == _MERGE:
                    value = MERGE_KEY
                else:
                    value = resolve_plain(event.value)
            else:
                value = event.value
            if event.anchor:
                anchors[event.anchor] = (value, 1)
            attach(value, line, 1)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            total += 1
            if len(stack) >= max_depth:
                raise ManifestError(f"nesting deeper than {MAX_DEPTH} levels", line=line)
            container: dict[str, Any] | list[Any] = (
                {} if isinstance(event, yaml.MappingStartEvent) else []
            )
            path = _child_path(stack, line, lines)
            stack.append(_Frame(container=container, path=path, line=line, anchor=event.anchor))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            if frame.anchor:
                anchors[frame.anchor] = (frame.container, frame.nodes)
            attach(frame.container, frame.line, frame.nodes)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise ManifestError(f"unknown alias *{event.anchor}", line=line)
            value, nodes = anchors[event.anchor]
            total += nodes
            if total > max_nodes:
                raise ManifestError(
                    f"aliases expand this document beyond {MAX_NODES:,} nodes (a YAML alias bomb?)",
                    line=line,
                )
            attach(value, line, nodes)
        elif isinstance(event, yaml.DocumentEndEvent):
            break
        if total > max_nodes:
            raise ManifestError(f"document has more than {MAX_NODES:,} nodes", line=line)
    return ExactDocument(
        value=result if have_result else None,
        lines=lines,
        duplicates=duplicates,
        start_line=start_line or offset,
    )


def _child_path(stack: list[_Frame], line: int, lines: dict[Path, int]) -> Path:
    """The path a container about to start will have in its parent."""
    if not stack:
        return ()
    top = stack[-1]
    if isinstance(top.container, list):
        return (*top.path, len(top.container))
    if top.has_key and top.key is not MERGE_KEY:
        return (*top.path, top.key)
    if not top.has_key:
        raise ManifestError("a mapping or list cannot be a map key", line=line)
    return top.path


def _merge(target: dict[str, Any] | list[Any], value: Any, line: int) -> None:
    """go-yaml v2 ``<<``: merged keys override earlier ones; in a list the first map wins."""
    assert isinstance(target, dict)  # noqa: S101 - merge keys only occur in mappings
    if isinstance(value, dict):
        target.update(value)
        return
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        for item in reversed(value):
            target.update(item)
        return
    raise ManifestError("a merge key (<<) needs a mapping or a list of mappings", line=line)
