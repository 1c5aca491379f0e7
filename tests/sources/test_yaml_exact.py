"""The exact loader reads YAML as Kubernetes does (go-yaml v2 + sigs.k8s.io/yaml)."""

from __future__ import annotations

import math

import pytest

from kubeward.errors import ManifestError
from kubeward.sources import yaml_exact
from kubeward.sources.yaml_exact import MAX_DEPTH, resolve_plain

# Plain scalars and what go-yaml v2 resolve() makes of them (go.yaml.in/yaml/v2 resolve.go),
# after sigs.k8s.io/yaml's JSON conversion (timestamps become RFC 3339 strings).
RESOLUTION = [
    ("yes", True), ("Yes", True), ("YES", True), ("y", True), ("Y", True), ("on", True),
    ("On", True), ("ON", True), ("true", True), ("True", True), ("TRUE", True),
    ("no", False), ("n", False), ("off", False), ("OFF", False), ("False", False),
    ("null", None), ("Null", None), ("NULL", None), ("~", None), ("", None),
    ("0", 0), ("-5", -5), ("+5", 5), ("017", 15), ("0o17", 15), ("0x1F", 31), ("-0x1F", -31),
    ("0b101", 5), ("-0b101", -5), ("1_000", 1000), ("08", 8.0), ("1.", 1.0), (".5", 0.5),
    ("-.5", -0.5), ("1e3", 1000.0), ("1E3", 1000.0), ("1.5e-3", 0.0015),
    ("18446744073709551615", 18446744073709551615), ("12345678901234567890123", 1.2345678901234568e22),
    (".inf", math.inf), ("-.inf", -math.inf), ("+.Inf", math.inf),
    ("2001-12-14", "2001-12-14T00:00:00Z"), ("2001-12-14T21:59:43.10Z", "2001-12-14T21:59:43.1Z"),
    ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43.1Z"),
    ("nan", "nan"), ("inf", "inf"), ("Infinity", "Infinity"), ("3.14.15", "3.14.15"),
    ("1e", "1e"), ("0x", "0x"), ("1-2", "1-2"), ("1:20", "1:20"), ("abc", "abc"), ("._5", "._5"),
    ("nginx:1.27", "nginx:1.27"), ("-_1", -1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), RESOLUTION, ids=[r[0] or "empty" for r in RESOLUTION]
)
def test_plain_scalar_resolution_matches_go_yaml_v2(text: str, expected: object) -> None:
    value = resolve_plain(text)
    assert type(value) is type(expected)
    assert value == expected


def test_nan_resolves_to_float_nan() -> None:
    value = resolve_plain(".nan")
    assert isinstance(value, float)
    assert math.isnan(value)


def load_one(text: str) -> yaml_exact.ExactDocument:
    (doc,) = yaml_exact.load(text)
    return doc


def test_quoted_scalars_stay_strings() -> None:
    assert load_one("a: 'yes'\nb: \"017\"\nc: '~'\n").value == {"a": "yes", "b": "017", "c": "~"}


def test_keys_become_strings_like_sigs_k8s_io_yaml() -> None:
    doc = load_one("1: a\n1.0: b\n2.5: c\ntrue: d\nyes: e\n")
    assert doc.value == {"1": "b", "2.5": "c", "true": "e"}
    # 1 and 1.0 both become "1"; true and yes both become "true": the last one wins, reported
    assert [(path, second) for path, _, second in doc.duplicates] == [(("1",), 2), (("true",), 5)]


def test_null_key_is_an_error() -> None:
    with pytest.raises(ManifestError, match="unsupported map key"):
        load_one("~: a\n")


def test_duplicate_keys_keep_the_last_value_and_are_reported() -> None:
    doc = load_one("a: 1\nb: 2\na: 3\n")
    assert doc.value == {"a": 3, "b": 2}
    assert doc.duplicates == [(("a",), 1, 3)]


def test_merge_keys_follow_go_yaml_v2() -> None:
    text = "base: &b {p: 1, q: 2}\nother: &o {q: 20, r: 30}\nm:\n  p: 0\n  <<: [*b, *o]\n  w: 9\n"
    assert load_one(text).value["m"] == {"p": 1, "q": 2, "r": 30, "w": 9}


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    assert load_one('m: {"<<": {a: 1}}\n').value == {"m": {"<<": {"a": 1}}}


def test_tags() -> None:
    doc = load_one("a: !!str 123\nb: !!int '7'\nc: !!float 1\nd: !custom yes\n")
    assert doc.value == {"a": "123", "b": 7, "c": 1.0, "d": "yes"}
    with pytest.raises(ManifestError, match="cannot be decoded as !!int"):
        load_one("a: !!int abc\n")


@pytest.mark.parametrize("tag", ["!!int", "!!bool", "!!float", "!!null", "!!timestamp"])
def test_an_undecodable_tagged_scalar_is_reported_without_its_value(tag: str) -> None:
    """The scalar may be a Secret's private key: the error names the tag and the line only."""
    text = (
        f"stringData:\n  tls.key: {tag} |\n    -----BEGIN RSA PRIVATE KEY-----\n    canary-s3cr3t\n"
    )
    with pytest.raises(ManifestError) as raised:
        load_one(text)
    assert "canary" not in str(raised.value) and "PRIVATE" not in str(raised.value)
    assert tag in str(raised.value) and raised.value.line == 2


def test_an_unsupported_key_is_reported_by_type_not_value() -> None:
    with pytest.raises(ManifestError, match="unsupported map key of type null"):
        load_one("~: a\n")
    with pytest.raises(ManifestError, match="cannot be a map key") as raised:
        load_one("? [canary-s3cr3t]\n: a\n")
    assert "canary" not in str(raised.value)


def test_lines_of_keys_and_items() -> None:
    doc = load_one("a:\n  b:\n    - x\n    - name: y\n      v: 1\n")
    assert doc.lines[("a",)] == 1
    assert doc.lines[("a", "b")] == 2
    assert doc.lines[("a", "b", 0)] == 3
    assert doc.lines[("a", "b", 1, "v")] == 5


def test_alias_bomb_is_stopped_with_a_line() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev, cur = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(ManifestError, match="alias bomb") as caught:
        load_one("\n".join(lines) + "\n")
    assert caught.value.line is not None


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    text = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 2))
    text = (
        "".join(" " * (2 * i) + "k:\n" for i in range(MAX_DEPTH + 5))
        + " " * (2 * (MAX_DEPTH + 5))
        + "v\n"
    )
    with pytest.raises(ManifestError, match="nesting"):
        load_one(text)
    with pytest.raises(ManifestError):
        load_one("[" * 5000 + "]" * 5000)


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(ManifestError) as caught:
        list(yaml_exact.load("a: 1\nb: [1, 2\nc: 3\n", first_line=10))
    assert caught.value.line is not None
    assert caught.value.line >= 11


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"], ids=["NEL", "LS", "PS"])
def test_unicode_line_separators_do_not_shift_lines(separator: str) -> None:
    # libyaml counts NEL, LS and PS as line breaks; files and editors do not (LF lines).
    text = f'a: "x{separator}y"\nb: 1\n'
    (doc,) = yaml_exact.load(text, first_line=5)
    assert doc.lines == {("a",): 5, ("b",): 6}
    with pytest.raises(ManifestError) as caught:
        list(yaml_exact.load(f"a: |\n  x{separator}y\nb: 1\n", first_line=5))
    assert caught.value.line == 7  # where libyaml gives up ("b: 1"), counted in LF lines
