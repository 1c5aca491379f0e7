"""Reports of large scans: SARIF, HTML and JUnit written in pieces that make the same document
as before, SARIF's code scanning limit said aloud, a large HTML page shown a page at a time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import msgspec
import pytest

from kubeward.model import CoverageGap, ScanResult
from kubeward.reporters import html, junit, renderer, sarif
from tests.cli_helpers import kubeward
from tests.reporters.conftest import PRIVILEGED_POD
from tests.reporters.test_reporters import _sarif_schema

# The template's loop over the findings before the rows were made in Python: what
# ``kubeward.reporters.html._row`` must write, byte for byte.
TEMPLATE_ROWS = """\
{% for f in r.findings %}
<tr data-sev="{{ f.severity.value }}"><td><span class="sev {{ f.severity.value }}">{{ f.severity.value }}</span></td>
<td>{% if f.rule_id in help_uris %}<a href="{{ help_uris[f.rule_id] }}">{{ f.rule_id }}</a>{% else %}{{ f.rule_id }}{% endif %} <a href="#rule-{{ f.rule_id }}" title="the rule and its remediation">{{ f.rule_name }}</a></td>
<td class="obj">{{ f.object }}</td>
<td class="loc">{{ f.file or "" }}{% if f.line %}:{{ f.line }}{% endif %}</td>
<td>{{ f.message }}<div class="path">{{ f.path }}</div></td></tr>
{% endfor %}
"""


@pytest.fixture(params=["sample_result", "policy_result", "odd_files_result"])
def any_result(request: pytest.FixtureRequest) -> ScanResult:
    result: ScanResult = request.getfixturevalue(request.param)
    return result


def _with_surrogate(result: ScanResult) -> ScanResult:
    first = result.findings[0]
    odd = msgspec.structs.replace(first, message="m\udfffn")
    return msgspec.structs.replace(result, findings=[*result.findings, odd])


@pytest.mark.parametrize("chunk", [1, 2, 3, 10_000])
def test_sarif_in_chunks_is_the_log_encoded_at_once(any_result: ScanResult, chunk: int) -> None:
    """Each chunk of results is encoded on its own and indented to its place: the pieces make
    the log as one encoding of it would, a lone surrogate in any chunk or none."""
    for result in (any_result, _with_surrogate(any_result)):
        pieces = list(sarif.render_chunks(result, chunk))
        assert b"".join(pieces) == sarif.render(result)
        log = json.loads(b"".join(pieces))
        results = log["runs"][0]["results"]
        assert len(results) == len(result.findings) + len(result.suppressed)
        # what one encoding of the parsed log gives (orjson's indent, a final newline)
        assert b"".join(pieces) == sarif._encode(log) + b"\n"
    empty = msgspec.structs.replace(any_result, findings=[], suppressed=[])
    assert json.loads(sarif.render(empty))["runs"][0]["results"] == []


def test_sarif_over_code_scannings_result_limit_says_so_and_keeps_every_result(
    sample_result: ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = len(sample_result.findings) + len(sample_result.suppressed)
    assert sarif.results_over_limit(sample_result) is None
    monkeypatch.setattr(sarif, "RESULTS_PER_RUN_LIMIT", count - 1)
    log = json.loads(sarif.render(sample_result))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    run = log["runs"][0]
    assert len(run["results"]) == count  # nothing dropped
    note = run["invocations"][0]["toolExecutionNotifications"][-1]
    assert note["level"] == "warning"
    assert f"{count:,} results" in note["message"]["text"]
    assert f"more than {count - 1:,} results in a run" in note["message"]["text"]
    assert "--select" in note["message"]["text"] and "-f json" in note["message"]["text"]


def test_cli_warns_when_sarif_exceeds_code_scannings_result_limit(tmp_path: Path) -> None:
    """25,600 findings (1,600 pods, 16 each): stderr says the upload will be rejected and why;
    the report has every result and the same warning."""
    pods = (
        PRIVILEGED_POD.replace("name: p,", f"name: p{i},") for i in range(1_600)
    )  # distinct objects
    (tmp_path / "pods.yaml").write_text("---\n".join(pods))
    run = kubeward("scan", "pods.yaml", "-f", "sarif", "-o", "r.sarif", cwd=tmp_path)
    assert run.code == 1, run.stderr
    assert re.search(
        r"warning: the SARIF report has 25,\d{3} results .*rejects an upload with more than "
        r"25,000 results in a run",
        run.stderr,
    ), run.stderr
    log = json.loads((tmp_path / "r.sarif").read_bytes())
    assert len(log["runs"][0]["results"]) > 25_000
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("more than 25,000 results" in n["message"]["text"] for n in notes)


def test_html_rows_are_the_templates_markup(any_result: ScanResult) -> None:
    """The rows made in Python are what the template's loop wrote: escaped, with control and
    invisible characters shown as escapes, rule links only to real rule pages."""
    help_uris = {rule.id: rule.help_uri for rule in any_result.rules if rule.help_uri}
    expected = html._env.from_string(TEMPLATE_ROWS).render(r=any_result, help_uris=help_uris)
    assert html._rows(any_result.findings, help_uris, {}, {}) == expected


@pytest.mark.parametrize("chunk", [1, 2, 10_000])
def test_html_in_chunks_is_the_page(any_result: ScanResult, chunk: int) -> None:
    page = "".join(html.render_chunks(any_result, chunk))
    assert page == html.render(any_result)
    assert 'class="paged"' not in page and 'id="more"' not in page  # small: all shown


@pytest.mark.parametrize("fmt", ["sarif", "html", "junit"])
def test_report_without_findings(sample_result: ScanResult, fmt: str) -> None:
    """No findings, so no table of them in the page and no results in the log."""
    clean = msgspec.structs.replace(sample_result, findings=[], suppressed=[])
    output = renderer(fmt)(clean)
    text = output if isinstance(output, str) else bytes(output).decode()
    if fmt == "html":
        assert '<div class="empty">No findings.</div>' in text
    elif fmt == "sarif":
        assert json.loads(text)["runs"][0]["results"] == []
    else:
        assert "<failure" not in text


def test_large_html_shows_a_page_at_a_time_and_holds_every_row(
    policy_result: ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``PAGE`` findings, the rows after the first page are hidden until the script shows
    them (or, without scripts, shown by the ``<noscript>`` style); all are in the file."""
    monkeypatch.setattr(html, "PAGE", 1)
    page = html.render(policy_result)
    rows = re.findall(r"<tr data-sev=", page)
    assert len(rows) == len(policy_result.findings) > 1
    assert '<table id="findings" class="paged">' in page
    assert "#findings.paged tbody tr:nth-child(n+2) { display:none; }" in page
    assert "<noscript><style>#findings.paged tbody tr:nth-child(n) { display:table-row; }" in page
    assert '<button type="button" id="more" hidden>Show 1 more</button>' in page
    assert "page = 1, limit = page" in page


def _partial(result: ScanResult) -> ScanResult:
    gaps = [
        CoverageGap(verb="list", resource="secrets", group="", namespace="shop",
                    message='User "alice" cannot list \x1b "secrets" <&>\n\tnext'),
        CoverageGap(verb="list", resource="rollouts", group="argoproj.io", namespace=None,
                    message="discovery failed: 503"),
    ]  # fmt: skip
    return msgspec.structs.replace(result, coverage=gaps)


def _empty(result: ScanResult) -> ScanResult:
    return msgspec.structs.replace(result, findings=[], rules=[], errors=[], coverage=[])


@pytest.mark.parametrize("change", [lambda r: r, _partial, _empty])
def test_junit_is_written_as_elementtree_wrote_it(any_result: ScanResult, change: Any) -> None:
    """The document written as text is ElementTree's serialisation of the tree it parses to
    (its indentation, its escapes, ``<tag ... />`` when empty): as the report was before."""
    result = change(any_result)
    document = junit.render(result)
    assert document == "".join(junit.render_chunks(result))
    head, body = document.split("\n", 1)
    assert head == '<?xml version="1.0" encoding="UTF-8"?>'
    root = ET.fromstring(body)  # noqa: S314 - our own output
    assert body == ET.tostring(root, encoding="unicode") + "\n"
    assert ET.tostring(root, encoding="unicode") == _indented(root)


def _indented(root: ET.Element) -> str:
    """``root`` indented by ElementTree afresh: the whitespace the text writer put is its."""
    copy = ET.fromstring(ET.tostring(root))  # noqa: S314 - our own output
    for element in copy.iter():
        if len(element):
            element.text = None
        element.tail = None
    ET.indent(copy)
    return ET.tostring(copy, encoding="unicode")
