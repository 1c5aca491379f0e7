"""Lines found through rapidyaml's tree equal the lines libyaml reports (the exact loader)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import ryml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kubeward.errors import ManifestError
from kubeward.model import Path
from kubeward.sources import yaml_exact, yaml_fast
from kubeward.sources.manifests import ExactLocator, parse_json, parse_yaml
from tests.sources.test_yaml_equivalence import yaml_stream


def paths_of(value: Any, limit: int = 200) -> list[Path]:
    found: list[Path] = [()]
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack and len(found) < limit:
        node, path = stack.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in items:
            found += [(*path, key), (*path, key, "missing"), (*path, key, 3)]
            stack.append((child, (*path, key)))
    return found


def mismatches(text: bytes) -> list[tuple[Path, int | None, int | None]]:
    parsed = parse_yaml(text, "t.yaml")
    wrong = []
    for doc in parsed.documents:
        locator = doc.locator
        if not isinstance(locator, yaml_fast.FastLocator) or not isinstance(
            doc.value, (dict, list)
        ):
            continue
        chunk = locator.source.data[locator.doc_start : locator.doc_end].decode()
        (exact,) = yaml_exact.load(chunk, first_line=locator.first_line)
        reference = ExactLocator(exact.lines, exact.start_line)
        paths = [p for p in paths_of(doc.value) if p]
        for path, got, want in zip(
            paths, locator.lines(paths), reference.lines(paths), strict=True
        ):
            if got != want:
                wrong.append((path, got, want))
    return wrong


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_stream())
def test_fast_locator_agrees_with_libyaml(text: str) -> None:
    wrong = mismatches(text.encode())
    assert not wrong, (wrong[:3], text)


def test_empty_items_get_their_own_lines() -> None:
    text = b"kind: X\nitems:\n  - {}\n  - []\n  -\n  - x\n  - a: 1\n    b: {}\n"
    assert not mismatches(text)


def test_view_addresses_read_directly_match_the_buffer_api() -> None:
    assert yaml_fast._VIEW_ADDRESS_OFFSET is not None  # CPython's layout: the fast read is used
    data = bytearray(b"kind: Pod\nmetadata:\n  name: web\n")
    tree = ryml.parse_in_place(data)
    views = [memoryview(data), memoryview(data)[3:], memoryview(b"xyz")[1:]]
    views += [yaml_fast._key(tree.this, node) for node in range(1, 3)]
    for view in views:
        assert yaml_fast._view_address(view) == yaml_fast._address(view)


# Strings with what JSON escapes and rapidyaml unescapes in place (quotes, backslashes, line
# breaks, control characters, LS) and non-ASCII text, in values and keys.
JSON_TEXT = st.text(
    alphabet=st.sampled_from([*'ab "\\\n\t/:{}[],', "é", "\u2028", "\x7f"]), max_size=6
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    JSON_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["a", "name", ""]), JSON_TEXT), inner, max_size=4
        ),
    ),
    max_leaves=30,
)


def json_mismatches(text: bytes) -> list[tuple[Path, int | None, int | None]]:
    (doc,) = parse_json(text, "t.json").documents
    assert isinstance(doc.locator, yaml_fast.FastLocator), "JSON without duplicates: fast path"
    (exact,) = yaml_exact.load(text.decode(), first_line=1, limits=False)
    reference = ExactLocator(exact.lines, exact.start_line)
    paths = [p for p in paths_of(doc.value, 400) if p]
    return [
        (path, got, want)
        for path, got, want in zip(
            paths, doc.locator.lines(paths), reference.lines(paths), strict=True
        )
        if got != want
    ]


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(["spec", "items", "metadata"]), JSON_VALUES, max_size=3),
    st.sampled_from([None, 1, 2, 4]),
)
def test_json_lines_through_rapidyaml_agree_with_libyaml(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False).encode()
    try:  # the reference: libyaml refuses some JSON (DEL, LS in a key), kubeward does not
        list(yaml_exact.load(text.decode(), first_line=1, limits=False))
    except ManifestError:
        assume(False)
    wrong = json_mismatches(text)
    assert not wrong, (wrong[:3], text)


def test_a_large_json_list_is_located_without_the_exact_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a `kubectl get -o json` dump: one document of thousands of items, RBAC's `[""]` and
    # NetworkPolicies' `[{}]` among them (both once sent the whole file to the exact loader)
    items = [
        {
            "kind": "Role",
            "metadata": {"name": f"r{i}"},
            "rules": [{"apiGroups": [""], "resources": ["pods"]}],
            "spec": {"ingress": [{}], "egress": [[]]},
        }
        for i in range(3_000)
    ]
    text = json.dumps({"kind": "List", "items": items}, indent=4).encode()
    assert len(text) > 4 * yaml_fast._LINE_CHUNK
    (exact,) = yaml_exact.load(text.decode(), first_line=1, limits=False)
    reference = ExactLocator(exact.lines, exact.start_line)
    (doc,) = parse_json(text, "dump.json").documents
    monkeypatch.setattr(yaml_exact, "load", None)  # any fallback would now fail
    paths: list[Path] = [
        ("items", i, *tail)
        for i in (0, 1, 1_500, 2_999)
        for tail in (
            ("rules", 0, "apiGroups", 0),
            ("spec", "ingress", 0),
            ("spec", "egress", 0),
            ("metadata", "name"),
        )
    ]
    assert doc.locator.lines(paths) == reference.lines(paths)
