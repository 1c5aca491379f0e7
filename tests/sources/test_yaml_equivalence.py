"""The fast YAML path must read every document it accepts exactly as Kubernetes does.

Kubernetes' reading is implemented by ``yaml_exact`` (go-yaml v2 semantics, tested against
go-yaml's own resolution table in ``test_yaml_exact.py``). Here hypothesis writes YAML with a
vocabulary chosen to hit every disagreement between rapidyaml and go-yaml (YAML 1.1 booleans,
octal and hex numbers, nan/inf, timestamps, numeric keys, quoting, flow and block styles,
duplicates, comments, multi-document streams) and checks that the fast path either refuses the
text or produces the same values.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.errors import ManifestError
from kubeward.sources import yaml_exact, yaml_fast
from kubeward.sources.manifests import parse_yaml

NASTY = [
    "yes",
    "Yes",
    "YES",
    "no",
    "No",
    "NO",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "y",
    "Y",
    "n",
    "N",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "null",
    "Null",
    "NULL",
    "~",
    "",
    "0",
    "00",
    "017",
    "08",
    "0x1F",
    "0o17",
    "0b101",
    "-0b101",
    "+5",
    "-5",
    "1_000",
    "1.",
    ".5",
    "-.5",
    "1e3",
    "1E3",
    "1.5e-3",
    ".inf",
    "-.inf",
    ".Inf",
    ".nan",
    ".NaN",
    "nan",
    "inf",
    "Infinity",
    "2001-12-14",
    "2001-1-2",
    "2001-12-14T21:59:43.10Z",
    "2001-12-14 21:59:43.10",
    "12345678901234567890123",
    "18446744073709551615",
    "9223372036854775808",
    "3.14.15",
    "1e",
    "0x",
    "1-2",
    "<<",
    "=",
    "nginx:1.27",
    "a b",
    "é",
    "null-ish",
    "-",
    "--",
    "1:20",
    "0.0",
    "-0",
    "+.5",
    "0755",
    "1_0.5",
    "._5",
    "1.0",
    "42",
    "-17",
    "3.25",
    "1e-5",
    "0.1",
    # go-yaml reads these as the float 0 (runAsUser: 0e0 is root); rapidyaml as strings
    "0e0",
    "0E1",
    "0e+1",
    "0e-1",
    "0e0_0",
]
ORDINARY = st.text(alphabet="abcxyz019_-./:@ é", min_size=0, max_size=10)
WORDS = st.one_of(st.sampled_from(NASTY), ORDINARY, ORDINARY)
KEYS = st.one_of(
    st.sampled_from(["a", "b", "name", "1", "1.0", "2.5", "true", "yes", "on", "~", "x y", "0x1"]),
    st.text(alphabet="abcz_-./", min_size=1, max_size=6),
    st.text(alphabet="abcz_-./", min_size=1, max_size=6),
)
_ESCAPES = ["\\t", "\\n", "\\u00e9", "\\x41", '\\"', "\\\\", "\\/"]


def _scalar(draw: st.DrawFn) -> str:
    word = draw(WORDS)
    style = draw(st.sampled_from(["plain", "plain", "plain", "single", "double", "double-escapes"]))
    if style == "single":
        return "'" + word.replace("'", "''") + "'"
    if style == "double":
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "double-escapes":
        escape = draw(st.sampled_from(_ESCAPES))
        return '"' + word.replace("\\", "").replace('"', "") + escape + '"'
    return word


def _key(draw: st.DrawFn) -> str:
    key = draw(KEYS)
    style = draw(st.sampled_from(["plain", "plain", "plain", "quoted"]))
    return f'"{key}"' if style == "quoted" else key


@st.composite
def yaml_node(draw: st.DrawFn, depth: int = 0) -> tuple[str, str]:
    """Returns (kind, text): "scalar" for one-line values, "block" for indented blocks,
    "literal" for block scalars."""
    choice = draw(
        st.sampled_from(["scalar", "scalar", "map", "seq", "flowmap", "flowseq", "literal"])
    )
    if depth >= 3 or choice == "scalar":
        return "scalar", _scalar(draw)
    if choice == "literal":
        indicator = draw(st.sampled_from(["|", ">", "|-", ">+", "|2"]))
        lines = draw(st.lists(ORDINARY.filter(lambda t: t.strip() == t), min_size=1, max_size=3))
        return "literal", indicator + "\n" + "\n".join("  " + line for line in lines)
    if choice == "flowseq":
        count = draw(st.integers(min_value=0, max_value=3))
        return "scalar", "[" + ", ".join(_scalar(draw) for _ in range(count)) + "]"
    if choice == "flowmap":
        count = draw(st.integers(min_value=0, max_value=3))
        return "scalar", "{" + ", ".join(
            f"{_key(draw)}: {_scalar(draw)}" for _ in range(count)
        ) + "}"
    if choice == "map":
        count = draw(st.integers(min_value=1, max_value=4))
        lines = []
        for _ in range(count):
            key = _key(draw)
            kind, text = draw(yaml_node(depth + 1))
            if kind == "scalar":
                comment = draw(st.sampled_from(["", "", "  # note yes"]))
                lines.append(f"{key}: {text}{comment}")
            elif kind == "literal":
                head, _, body = text.partition("\n")
                lines.append(f"{key}: {head}")
                lines.extend("  " + line for line in body.splitlines())
            else:
                lines.append(f"{key}:")
                indent = draw(st.sampled_from(["  ", "    "]))
                lines.extend(indent + line for line in text.splitlines())
        return "block", "\n".join(lines)
    size = draw(st.integers(min_value=1, max_value=3))
    lines = []
    for _ in range(size):
        kind, text = draw(yaml_node(depth + 1))
        if kind == "literal":
            head, _, body = text.partition("\n")
            lines.append(f"- {head}")
            lines.extend("  " + line for line in body.splitlines())
            continue
        body_lines = text.splitlines() or [""]
        lines.append(f"- {body_lines[0]}")
        lines.extend("  " + line for line in body_lines[1:])
    return "block", "\n".join(lines)


@st.composite
def yaml_stream(draw: st.DrawFn) -> str:
    docs = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind, text = draw(yaml_node())
        docs.append(text if kind != "literal" else "--- " + text)
    head = draw(st.sampled_from(["", "---\n", "# comment\n"]))
    return head + "\n---\n".join(docs) + "\n"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_stream())
def test_parse_yaml_reads_like_kubernetes(text: str) -> None:
    """Whatever route ``parse_yaml`` takes per document, it yields Kubernetes' values, and it
    never accepts a stream that Kubernetes' parser rejects."""
    parsed = parse_yaml(text.encode(), "t.yaml")
    try:
        exact = [d.value for d in yaml_exact.load(text)]
    except ManifestError:
        assert parsed.problems, "the fast path accepted YAML that Kubernetes rejects"
        return
    duplicates = [p for p in parsed.problems if p.message.startswith("duplicate key")]
    assert len(duplicates) == len(parsed.problems), parsed.problems
    assert _same([d.value for d in parsed.documents], exact)


@pytest.mark.parametrize("scalar", NASTY)
def test_each_nasty_plain_scalar_reads_like_kubernetes(scalar: str) -> None:
    """Every listed scalar, plain, in a realistic document (the generator above may not draw
    a given one)."""
    text = f"kind: Pod\nspec:\n  securityContext:\n    runAsUser: {scalar}\n  list: [{scalar}]\n"
    parsed = parse_yaml(text.encode(), "t.yaml")
    try:
        exact = [d.value for d in yaml_exact.load(text)]
    except ManifestError:
        assert parsed.problems
        return
    assert _same([d.value for d in parsed.documents], exact), scalar


def test_the_fast_path_is_exercised() -> None:
    """Guard against a generator (or prescan) that sends everything to the exact loader."""
    fast = 0
    for text in ("a: 1\nb: [p, q]\n", "- {k: v}\n- 2\n---\nname: web\n", "x: 'yes'\n"):
        parsed = parse_yaml(text.encode(), "t.yaml")
        fast += sum(isinstance(d.locator, yaml_fast.FastLocator) for d in parsed.documents)
    assert fast == 4
