"""The terminal report: findings grouped by file (by namespace for a live cluster), then
errors, warnings and a summary line.

Rendered with rich into a string (the CLI decides where it goes); colours are included only
when the caller asks (``color=True``, i.e. when writing to a terminal). Text from the scan goes
to rich as ``Text`` (never parsed as markup) with its control characters escaped
(:func:`kubeward.terminal.printable`): a manifest cannot restyle or move the reader's terminal.
"""

from __future__ import annotations

import io
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from kubeward.model import Finding, Problem, ScanResult, Severity, Verdict
from kubeward.terminal import printable

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _group(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        namespace = finding.object.namespace
        live = f"namespace {namespace}" if namespace else "cluster-scoped objects"
        groups[finding.file or live].append(finding)
    return groups


def _problems(console: Console, title: str, problems: list[Problem], style: str) -> None:
    if not problems:
        return
    console.print(Text(f"{title} ({len(problems)})", style=f"bold {style}"))
    for problem in problems:
        where = ""
        if problem.file:
            where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        line = Text("  ")
        if where:
            line.append(printable(where), style="bold")
            line.append("  ")
        line.append(printable(problem.message, multiline=True))
        console.print(line)
    console.print()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(result: ScanResult) -> Text:
    s = result.summary
    parts = []
    if s.findings:
        by = s.by_severity
        counts = ", ".join(
            f"{getattr(by, sev.value)} {sev.value}"
            for sev in reversed(Severity)
            if getattr(by, sev.value)
        )
        parts.append(f"{_plural(s.findings, 'finding')} ({counts})")
    else:
        parts.append("no findings")
    cluster = result.scan.cluster
    where = f"cluster {printable(cluster.context)}" if cluster else _plural(s.files, "file")
    parts.append(f"{_plural(s.objects, 'object')} in {where}")
    if s.coverage_gaps:
        parts.append(f"{_plural(s.coverage_gaps, 'coverage gap')}")
    parts.append(f"{s.rules_evaluated} rules")
    if s.suppressed:
        parts.append(f"{s.suppressed} suppressed")
    if s.errors:
        parts.append(_plural(s.errors, "error"))
    if s.warnings:
        parts.append(_plural(s.warnings, "warning"))
    mark, style = {
        Verdict.PASS: ("PASS", "bold green"),
        Verdict.FAIL: ("FAIL", "bold red"),
        Verdict.ERROR: ("ERROR", "bold magenta"),
    }[s.verdict]
    text = Text(f"{mark} ", style=style)
    text.append(" · ".join(parts))
    threshold = result.scan.fail_on
    text.append(
        f"  (failing at {threshold} and above)" if threshold else "  (never failing on findings)",
        style="dim",
    )
    return text


class _Row(NamedTuple):
    line: str
    severity: Severity
    rule: str
    object: str
    message: str


_OBJECT_WIDTH = 40


def _rich_table(rows: list[_Row]) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column("line", justify="right", style="dim", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("object", no_wrap=True, max_width=_OBJECT_WIDTH, overflow="ellipsis")
    table.add_column("message", overflow="fold")
    for row in rows:
        table.add_row(
            row.line,
            Text(row.severity.value.upper(), style=_STYLE[row.severity]),
            Text(row.rule),
            Text(row.object),
            Text(row.message),
        )
    return table


_ANSI = {
    style: tuple(Style.parse(style).render("\0", color_system=ColorSystem.STANDARD).split("\0"))
    for style in (*_STYLE.values(), "dim")
}
"""Each style's escape sequences before and after a text, as rich writes them."""


def _paint(text: str, style: str, color: bool) -> str:
    if not color or not text:
        return text
    before, after = _ANSI[style]
    return f"{before}{text}{after}"


def _plain_table(rows: list[_Row], width: int, *, color: bool) -> str | None:
    """The lines rich's table of ``rows`` would print, laid out here: rich measures and wraps
    every cell of every row through its renderables (~0.45 ms a row: 80 s for the 173,000
    findings of the benchmark corpus). None when the rows need rich's full layout: text that
    is not ASCII (wide and combining characters), or too little room for the messages."""
    texts = (text for row in rows for text in (row.rule, row.object, row.message))
    if not all(text.isascii() for text in texts):
        return None
    line_width = max(len(row.line) for row in rows)
    severity_width = max(len(row.severity.value) for row in rows)
    rule_width = max(len(row.rule) for row in rows)
    object_width = min(_OBJECT_WIDTH, max(len(row.object) for row in rows))
    longest = max(len(row.message) for row in rows)
    # rich's layout for this table: two spaces between columns; every column at its widest
    # cell, except that the message column (the only one that wraps) gives up what is over
    # the width
    message_width = min(
        longest, width - line_width - severity_width - rule_width - object_width - 8
    )
    if min(rule_width, object_width, longest) < 1 or message_width < 1:
        return None
    out: list[str] = []
    blank = " " * line_width
    indent = " " * (severity_width + rule_width + object_width + 6)
    for row in rows:
        shown = row.object
        if len(shown) > object_width:
            shown = shown[: object_width - 1] + "…"
        severity = row.severity.value.upper().ljust(severity_width)
        first, *more = _wrapped(row.message, message_width)
        out.append(
            f"{_paint(row.line.rjust(line_width), 'dim', color)}  "
            f"{_paint(severity, _STYLE[row.severity], color)}  {row.rule.ljust(rule_width)}  "
            f"{shown.ljust(object_width)}  {first}".rstrip()
        )
        out.extend(f"{_paint(blank, 'dim', color)}  {indent}{line}".rstrip() for line in more)
    return "\n".join(out) + "\n"


_WORD = re.compile(r"(\s*\S+)\s*")


def _wrapped(text: str, width: int) -> list[str]:
    """ASCII ``text`` wrapped as rich wraps a table cell: its ``divide_line`` (words with their
    trailing blanks, long words folded), in half the time of rich's cell arithmetic (the
    property test holds the two equal)."""
    if len(text) <= width:
        return [text]
    breaks = [0]
    offset = 0
    for match in _WORD.finditer(text):
        start, end = match.span()
        length = match.end(1) - start  # without the trailing blanks
        if width - offset >= length:
            offset += end - start
        elif length > width:  # a word longer than a line: folded across lines
            chunks = range(start, end, width)
            for chunk in chunks:
                if chunk:
                    breaks.append(chunk)
            offset = end - chunks[-1]
        elif offset and start:
            breaks.append(start)
            offset = end - start
    breaks.append(len(text))
    return [text[a:b] for a, b in itertools.pairwise(breaks)]


def render(result: ScanResult, *, color: bool = False, width: int = 120) -> str:
    return "".join(render_pieces(result, color=color, width=width))


def render_pieces(result: ScanResult, *, color: bool = False, width: int = 120) -> Iterator[str]:
    """The report in pieces (a file's findings each), every line right-stripped: written as
    it is made, the table of a large scan is never held whole (92 MB for 173,000 findings)."""
    buffer = io.StringIO()

    def printed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return "".join(line.rstrip() + "\n" for line in text.splitlines())

    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        soft_wrap=False,
    )
    for file, findings in sorted(_group(result.findings).items()):
        console.print(Text(printable(file), style="bold underline"))
        rows = [
            _Row(
                str(finding.line or ""),
                finding.severity,
                f"{finding.rule_id} {finding.rule_name}",
                printable(str(finding.object)),
                printable(finding.message),
            )
            for finding in sorted(findings, key=lambda f: (f.line or 0, f.rule_id))
        ]
        laid_out = _plain_table(rows, width, color=color)
        if laid_out is not None:
            yield printed()
            yield laid_out
        else:
            console.print(_rich_table(rows))
        console.print()
        yield printed()
    _problems(console, "Errors", result.errors, "magenta")
    _problems(console, "Warnings", result.warnings, "yellow")
    for spec in result.frameworks:
        console.print(
            Text(
                f"{spec.title}: {spec.passed} pass, {spec.failed} fail, {spec.manual} manual"
                + (f", {spec.skipped} skipped" if spec.skipped else ""),
                style="bold",
            )
        )
        for control in spec.controls:
            style = {"pass": "green", "fail": "red", "manual": "dim", "skipped": "yellow"}
            line = Text(f"  {control.status.upper():7}", style=style[control.status])
            line.append(f" {control.id}  {control.title}")
            if control.findings:
                line.append(
                    f"  ({control.findings} findings: {', '.join(control.rules)})", style="dim"
                )
            console.print(line)
        console.print()
    skipped = [r for r in result.rules if r.skipped and r.skip_reasons]
    for rule in skipped:
        console.print(
            Text(
                printable(f"skipped {rule.id} {rule.name}: {'; '.join(rule.skip_reasons)}"),
                style="dim",
            )
        )
    if skipped:
        console.print()
    console.print(summary_line(result), soft_wrap=True)
    yield printed()
