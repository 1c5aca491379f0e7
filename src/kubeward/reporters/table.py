"""The terminal report: findings grouped by file (by namespace for a live cluster), then
errors, warnings and a summary line.

Rendered with rich into a string (the CLI decides where it goes); colours are included only
when the caller asks (``color=True``, i.e. when writing to a terminal). Text from the scan goes
to rich as ``Text`` (never parsed as markup) with its control characters escaped
(:func:`kubeward.terminal.printable`): a manifest cannot restyle or move the reader's terminal.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable

from rich.console import Console
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


def render(result: ScanResult, *, color: bool = False, width: int = 120) -> str:
    buffer = io.StringIO()
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
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        table.add_column("line", justify="right", style="dim", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("object", no_wrap=True, max_width=40, overflow="ellipsis")
        table.add_column("message", overflow="fold")
        for finding in sorted(findings, key=lambda f: (f.line or 0, f.rule_id)):
            table.add_row(
                str(finding.line or ""),
                Text(finding.severity.value.upper(), style=_STYLE[finding.severity]),
                Text(f"{finding.rule_id} {finding.rule_name}"),
                Text(printable(str(finding.object))),
                Text(printable(finding.message)),
            )
        console.print(table)
        console.print()
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
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
