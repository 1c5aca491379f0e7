"""A single self-contained HTML file (no external resources), safe to attach to a ticket.

Everything from the scan is escaped by Jinja2's autoescaping (control characters, bidi
overrides and invisible characters shown as escapes first, as on the terminal); the page works
offline and has a small script for filtering by severity and text. Rule IDs link to the rule's
page (``helpUri``) when there is one; the rules table gives each rule's remediation.

A large report (more than ``PAGE`` findings) still holds every finding as a row of the table,
but the page shows them ``PAGE`` at a time, filtered over all of them, with buttons for more:
a browser laying out 170,000 table rows at once took minutes and gigabytes. Without scripts
(``<noscript>``) every row is shown.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from kubeward.model import Finding, ScanResult, Severity
from kubeward.terminal import printable

# Findings shown at once by a large report's page (and the size a report must pass for that).
PAGE = 1_000
# Finding rows rendered per piece of ``render_chunks``: ~5 MB of HTML.
CHUNK_FINDINGS = 10_000
# Where the finding rows go in the rendered template: a comment no escaped text can contain.
_ROWS_MARKER = "<!-- kubeward: finding rows -->"


def _visible(value: object) -> object:
    """Every interpolated string with its control, bidi and invisible characters shown as
    escapes (a NUL or ESC from an object's name reaches the page raw otherwise, and an
    override would show text in another order than the object holds); then autoescaped."""
    if value is None or isinstance(value, (bool, int, float)) or hasattr(value, "__html__"):
        return value  # numbers, and markup the template built itself
    return printable(str(value), multiline=True)  # strings, and objects shown by str()


_env = Environment(
    loader=PackageLoader("kubeward.reporters", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_visible,
)


def _text(value: str) -> str:
    """``{{ value }}`` in the template: shown (``_visible``) and escaped."""
    return str(escape(printable(value, multiline=True)))


def render(result: ScanResult) -> str:
    return "".join(render_chunks(result))


def render_chunks(result: ScanResult, chunk: int = CHUNK_FINDINGS) -> Iterator[str]:
    """``render(result)`` in pieces, to be written one after the other.

    The finding rows, the bulk of a large report, are made here rather than by the template's
    loop (a third of the time, in Jinja2's per-value calls) and ``chunk`` at a time, so that
    the page is never held whole; they are the template's markup for a row, byte for byte.
    """
    template = _env.get_template("report.html.j2")
    severities = [s.value for s in reversed(Severity)]
    # a finding links to its rule's page when the rule has one (users' policies have none)
    help_uris = {rule.id: rule.help_uri for rule in result.rules if rule.help_uri}
    page = template.render(
        r=result,
        severities=severities,
        help_uris=help_uris,
        rows=Markup(_ROWS_MARKER),  # noqa: S704 - a constant: the rows go in its place
        page=PAGE if len(result.findings) > PAGE else None,
    )
    cut = page.find(_ROWS_MARKER)
    if cut == -1:  # no findings: no table of them
        yield page
        return
    yield page[:cut]
    rules: dict[tuple[str, str, str], str] = {}
    files: dict[str, str] = {}
    for start in range(0, len(result.findings), chunk):
        yield _rows(result.findings[start : start + chunk], help_uris, rules, files)
    yield page[cut + len(_ROWS_MARKER) :]


def _rows(
    findings: Sequence[Finding],
    help_uris: dict[str, str],
    rules: dict[tuple[str, str, str], str],
    files: dict[str, str],
) -> str:
    # no cycles among the strings made here: see kubeward.reporters.sarif._results
    paused = gc.isenabled()
    gc.disable()
    try:
        return "".join([_row(f, help_uris, rules, files) for f in findings])
    finally:
        if paused:
            gc.enable()


def _row(
    finding: Finding,
    help_uris: dict[str, str],
    rules: dict[tuple[str, str, str], str],
    files: dict[str, str],
) -> str:
    """A finding's row, as the template wrote it. ``rules`` and ``files``: the start of the row
    (severity and rule cells) and the file cell, made once per rule and per file."""
    severity = finding.severity.value
    key = (finding.rule_id, finding.rule_name, severity)
    if (start := rules.get(key)) is None:
        shown = _text(severity)
        rule_id = _text(finding.rule_id)
        link = (
            f'<a href="{_text(help_uris[finding.rule_id])}">{rule_id}</a>'
            if finding.rule_id in help_uris
            else rule_id
        )
        start = rules[key] = (
            f'<tr data-sev="{shown}"><td><span class="sev {shown}">{shown}</span></td>\n'
            f'<td>{link} <a href="#rule-{rule_id}" title="the rule and its remediation">'
            f"{_text(finding.rule_name)}</a></td>\n"
        )
    file = finding.file or ""
    if (where := files.get(file)) is None:
        where = files[file] = _text(file)
    line = f":{finding.line}" if finding.line else ""
    return (
        f'{start}<td class="obj">{_text(str(finding.object))}</td>\n'
        f'<td class="loc">{where}{line}</td>\n'
        f'<td>{_text(finding.message)}<div class="path">{_text(finding.path)}</div></td></tr>\n'
    )
