"""``kubeward audit`` (record live-cluster scans, or watch), ``history`` and ``diff``."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

import click
import orjson

from kubeward.cli.scan import check_namespaces, resolve_config, split_ids
from kubeward.config import parse_fail_on
from kubeward.errors import UsageError
from kubeward.model import Severity
from kubeward.scan import ClusterTarget, ScanRequest, exit_code, run_scan
from kubeward.terminal import printable

if TYPE_CHECKING:  # SQLAlchemy is imported only by the commands that open the store
    from kubeward.history import HistoryStore, ScanRow, StoredFinding

_DB_HELP = (
    "History database: an SQLite file or an SQLAlchemy URL such as "
    "postgresql+psycopg://user@host/db (default: $XDG_DATA_HOME/kubeward/history.db)."
)


def _store(db: str | None) -> HistoryStore:
    from kubeward.cluster.live import RESOURCE_KINDS
    from kubeward.history import HistoryStore, database_url

    return HistoryStore(database_url(db), RESOURCE_KINDS)


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(event) + b"\n")
    sys.stdout.buffer.flush()


@click.command()
@click.option("--kubeconfig", metavar="FILE", help="Kubeconfig file ($KUBECONFIG).")
@click.option("--context", "kube_context", metavar="NAME", help="Kubeconfig context.")
@click.option(
    "-n", "--namespace", "namespaces", multiple=True, metavar="NS",
    help="A namespace to audit (repeatable; default: all).",
)  # fmt: skip
@click.option(
    "--allow-partial", is_flag=True,
    help="Kinds the identity may not list are warnings, not errors.",
)  # fmt: skip
@click.option("-c", "--config", "config_path", metavar="FILE", help="Configuration file.")
@click.option("--select", multiple=True, metavar="IDS", help="Only these rule IDs or prefixes.")
@click.option("--ignore", multiple=True, metavar="IDS", help="Skip these rule IDs or prefixes.")
@click.option("--fail-on", metavar="SEVERITY", help="Lowest severity that makes the exit code 1.")
@click.option("--db", metavar="PATH|URL", help=_DB_HELP)
@click.option(
    "--watch", is_flag=True,
    help="Keep watching: print new and resolved findings as JSON lines until interrupted.",
)  # fmt: skip
@click.option(
    "--snapshot-interval", type=click.FloatRange(min=1), default=3600.0, show_default=True,
    metavar="SECONDS", help="--watch: record a full snapshot this often (and at the end).",
)  # fmt: skip
def audit(
    kubeconfig: str | None,
    kube_context: str | None,
    namespaces: tuple[str, ...],
    allow_partial: bool,
    config_path: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str | None,
    db: str | None,
    watch: bool,
    snapshot_interval: float,
) -> int:
    """Scan the live cluster and record the scan in the history store.

    \b
    Without --watch: one scan, printed as a table, recorded; exit codes as `scan --cluster`.
    With --watch: the cluster is listed, recorded, then watched; every finding that appears
    or disappears is printed as a JSON line ({"type": "new"|"resolved", "finding": {...}})
    and recorded, until SIGINT or SIGTERM: exit 0, or 2 when there were coverage gaps (a
    watch that could not go on is one; --allow-partial: warnings) or the API server refused
    the credentials, also fresh ones (the session then ends).
    """
    check_namespaces(namespaces)
    namespaces = tuple(dict.fromkeys(namespaces))  # -n a -n a: audited once
    config = resolve_config(config_path, ["."])
    threshold: Severity | None = config.fail_on
    if fail_on is not None:
        try:
            threshold = parse_fail_on(fail_on)
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc} or 'never'") from None
    request = ScanRequest(
        paths=(),
        config=config,
        select=split_ids(select, "--select"),
        ignore=split_ids(ignore, "--ignore"),
        fail_on=threshold,
        cluster=ClusterTarget(
            kubeconfig=kubeconfig,
            context=kube_context,
            namespaces=namespaces,
            allow_partial=allow_partial,
        ),
    )
    from kubeward.history import scope_of

    store = _store(db)
    try:
        if watch:
            return _watch(request, store, snapshot_interval)
        result = run_scan(request)
        scan_id = store.record_scan(result, kind="audit", source=scope_of(result).label())
    finally:
        store.close()
    from kubeward.reporters.table import render as render_table

    click.echo(render_table(result, color=sys.stdout.isatty()), nl=False)
    click.echo(f"recorded as scan {scan_id} ({store.url.split('://')[0]})", err=True)
    return exit_code(result)


def _watch(request: ScanRequest, store: HistoryStore, snapshot_interval: float) -> int:
    from kubeward.audit import AuditSession  # threads and watches only for --watch

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    session = AuditSession(request, _emit, store, snapshot_interval=snapshot_interval)
    session.start(stop)
    session.run(stop)
    session.finish()
    return session.exit_code()


@click.command()
@click.option("--db", metavar="PATH|URL", help=_DB_HELP)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the last N scans.")
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
    show_default=True,
)  # fmt: skip
def history(db: str | None, limit: int | None, fmt: str) -> int:
    """Recorded scans over time, with their counts."""
    store = _store(db)
    try:
        rows = store.scans(limit)
    finally:
        store.close()
    if fmt == "json":
        rows_out = [_camel(row.__dict__) for row in rows]
        click.echo(orjson.dumps(rows_out, option=orjson.OPT_INDENT_2))
        return 0
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("id", "started", "source", "verdict", "objects", "findings"):
        table.add_column(column, justify="right" if column in ("id", "objects") else "left")
    for severity in ("critical", "high", "medium", "low", "gaps"):
        table.add_column(severity, justify="right")
    for row in rows:
        table.add_row(
            str(row.id), row.started_at, row.source, row.verdict, str(row.objects),
            str(row.findings), str(row.critical), str(row.high), str(row.medium), str(row.low),
            str(row.coverage_gaps),
        )  # fmt: skip
    _print(table if rows else "no scans recorded yet (kubeward audit records one)")
    return 0


@click.command()
@click.argument("before", type=int)
@click.argument("after", type=int)
@click.option("--db", metavar="PATH|URL", help=_DB_HELP)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
    show_default=True,
)  # fmt: skip
def diff(before: int, after: int, db: str | None, fmt: str) -> int:
    """Findings new in scan AFTER and resolved since scan BEFORE (IDs from `history`).

    Only objects both scans read are compared: a finding on an object the other scan did not
    read (another namespace, a coverage gap) is counted apart, neither new nor resolved. Scans
    of different sources (cluster, context, files) are not compared at all (exit 2).
    """
    store = _store(db)
    try:
        result = store.diff(before, after)
    finally:
        store.close()
    if fmt == "json":
        click.echo(
            orjson.dumps(
                {
                    "before": _camel(result.before.__dict__),
                    "after": _camel(result.after.__dict__),
                    "new": [_camel(f.__dict__) for f in result.new],
                    "resolved": [_camel(f.__dict__) for f in result.resolved],
                    "outOfAfterScope": len(result.out_of_after_scope),
                    "outOfBeforeScope": len(result.out_of_before_scope),
                    "notes": result.notes,
                },
                option=orjson.OPT_INDENT_2,
            )
        )
        return 0
    _print(_scan_line("before", result.before))
    _print(_scan_line("after", result.after))
    for note in result.notes:
        _print(printable(f"note: {note}"))
    for title, findings in (("new", result.new), ("resolved", result.resolved)):
        _print(f"\n{len(findings)} {title}")
        for finding in findings:
            _print(f"  {_finding_line(finding)}")
    for count, of, unread in (
        (len(result.out_of_after_scope), result.before, result.after),
        (len(result.out_of_before_scope), result.after, result.before),
    ):
        if count:
            _print(
                f"\n{count} findings of scan {of.id} not compared: on objects scan {unread.id} "
                "did not read (another namespace, or a coverage gap)"
            )
    return 0


def _camel(row: dict[str, Any]) -> dict[str, Any]:
    """JSON keys in the report's style (``ruleId``, ``startedAt``)."""
    out = {}
    for key, value in row.items():
        head, *rest = key.split("_")
        out[head + "".join(part.title() for part in rest)] = value
    return out


def _scan_line(label: str, row: ScanRow) -> str:
    source = row.scope.label() if row.scope else row.source
    gaps = f", {row.coverage_gaps} coverage gaps" if row.coverage_gaps else ""
    return printable(
        f"{label}: scan {row.id} at {row.started_at}, {row.findings} findings ({source}{gaps})"
    )


def _finding_line(finding: StoredFinding) -> str:
    where = f"{finding.kind}/{finding.namespace + '/' if finding.namespace else ''}{finding.name}"
    return printable(f"{finding.severity.upper():8} {finding.rule_id}  {where}  {finding.message}")


def _print(renderable: object) -> None:
    from rich.console import Console

    Console(highlight=False, markup=False, soft_wrap=True).print(renderable)
