"""The history store: scans over time, their findings, and the changes a watch saw.

SQLite by default (``$XDG_DATA_HOME/kubeward/history.db``), any SQLAlchemy URL otherwise
(``postgresql+psycopg://user@host/db``). Three tables:

- ``scans``: one row per recorded scan (``kubeward audit``, and each snapshot of
  ``kubeward audit --watch``), with its counts;
- ``scan_findings``: the findings of each scan, keyed by a *fingerprint* — rule, object
  (kind, namespace, name) and path — so the same problem is recognised across scans even when
  its line, resourceVersion or wording changes;
- ``finding_events``: ``new`` and ``resolved`` findings as a watch saw them, in order.

Like every report, the store holds findings' keys, locations and messages, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from kubeward.errors import KubewardError
from kubeward.model import Finding, ScanResult

_metadata = sa.MetaData()

scans = sa.Table(
    "scans",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("verdict", sa.String(10), nullable=False),
    sa.Column("objects", sa.Integer, nullable=False),
    sa.Column("findings", sa.Integer, nullable=False),
    sa.Column("critical", sa.Integer, nullable=False),
    sa.Column("high", sa.Integer, nullable=False),
    sa.Column("medium", sa.Integer, nullable=False),
    sa.Column("low", sa.Integer, nullable=False),
    sa.Column("info", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("coverage_gaps", sa.Integer, nullable=False),
)


def _finding_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("fingerprint", sa.String(1000), nullable=False),
        sa.Column("rule_id", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("namespace", sa.String(253)),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("file", sa.String(1000)),
        sa.Column("line", sa.Integer),
    ]


scan_findings = sa.Table(
    "scan_findings",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False, index=True),
    *_finding_columns(),
)

finding_events = sa.Table(
    "finding_events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("session_scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
    sa.Column("type", sa.String(10), nullable=False),
    *_finding_columns(),
)


class HistoryError(KubewardError):
    """The history database cannot be opened or written."""


def default_location() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kubeward" / "history.db"


def database_url(location: str | None) -> str:
    """``--db``: an SQLAlchemy URL, or a path to an SQLite file (default: the user data dir)."""
    if location and "://" in location:
        return location
    path = Path(location) if location else default_location()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def fingerprint(finding: Finding) -> str:
    """The identity of a problem across scans: rule, object and path (not line or wording).

    A list position is no identity (``subjects[1]`` is bob, then mallory after an edit;
    ``containers[0]`` can be another container), so below a list the message, which names
    the subject or container, is part of it too."""
    obj = finding.object
    key = f"{finding.rule_id}|{obj.kind}|{obj.namespace or ''}|{obj.name}|{finding.path}"
    return f"{key}|{finding.message}" if "[" in finding.path else key


def _finding_row(finding: Finding) -> dict[str, object]:
    return {
        "fingerprint": fingerprint(finding),
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "kind": finding.object.kind,
        "namespace": finding.object.namespace,
        "name": finding.object.name,
        "path": finding.path,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
    }


@dataclass(frozen=True)
class ScanRow:
    id: int
    started_at: str
    kind: str
    source: str
    verdict: str
    objects: int
    findings: int
    critical: int
    high: int
    medium: int
    low: int
    info: int
    errors: int
    coverage_gaps: int


@dataclass(frozen=True)
class StoredFinding:
    fingerprint: str
    rule_id: str
    severity: str
    kind: str
    namespace: str | None
    name: str
    path: str
    message: str
    file: str | None
    line: int | None


@dataclass(frozen=True)
class ScanDiff:
    before: ScanRow
    after: ScanRow
    new: list[StoredFinding]
    resolved: list[StoredFinding]


class HistoryStore:
    """One database; tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = sa.create_engine(url)
            _metadata.create_all(self.engine)
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:  # ValueError: a bad port
            raise HistoryError(f"history database {_safe(url)}: {_reason(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()

    def record_scan(self, result: ScanResult, *, kind: str, source: str) -> int:
        counts = result.summary.by_severity
        row = {
            "started_at": result.scan.started_at,
            "kind": kind,
            "source": source[:500],
            "verdict": result.summary.verdict.value,
            "objects": result.summary.objects,
            "findings": result.summary.findings,
            "critical": counts.critical,
            "high": counts.high,
            "medium": counts.medium,
            "low": counts.low,
            "info": counts.info,
            "errors": result.summary.errors,
            "coverage_gaps": result.summary.coverage_gaps,
        }
        try:
            with self.engine.begin() as db:
                inserted = db.execute(sa.insert(scans).values(row).returning(scans.c.id))
                scan_id = int(inserted.scalar_one())
                rows = [{"scan_id": scan_id, **_finding_row(f)} for f in result.findings]
                if rows:
                    db.execute(sa.insert(scan_findings), rows)
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"history database {_safe(self.url)}: {_reason(exc)}") from None
        return scan_id

    def record_events(
        self, session_scan_id: int, events: Iterable[tuple[str, Finding]], at: str | None = None
    ) -> None:
        when = at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        rows = [
            {"at": when, "session_scan_id": session_scan_id, "type": kind, **_finding_row(f)}
            for kind, f in events
        ]
        if not rows:
            return
        try:
            with self.engine.begin() as db:
                db.execute(sa.insert(finding_events), rows)
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"history database {_safe(self.url)}: {_reason(exc)}") from None

    def scans(self, limit: int | None = None) -> list[ScanRow]:
        query = sa.select(scans).order_by(scans.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self._reading() as db:
            return [ScanRow(**row._mapping) for row in db.execute(query)][::-1]

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A connection for a read; a database that refuses it (no SELECT permission, a table
        of another shape) is a clear error, not a crash."""
        try:
            with self.engine.connect() as db:
                yield db
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"history database {_safe(self.url)}: {_reason(exc)}") from None

    def scan(self, scan_id: int) -> ScanRow:
        with self._reading() as db:
            row = db.execute(sa.select(scans).where(scans.c.id == scan_id)).first()
        if row is None:
            raise HistoryError(f"no scan {scan_id} in {_safe(self.url)}")
        return ScanRow(**row._mapping)

    def findings(self, scan_id: int) -> list[StoredFinding]:
        columns = [c for c in scan_findings.c if c.name not in ("id", "scan_id")]
        query = sa.select(*columns).where(scan_findings.c.scan_id == scan_id)
        with self._reading() as db:
            return [StoredFinding(**row._mapping) for row in db.execute(query)]

    def events(self, session_scan_id: int) -> list[tuple[str, str, StoredFinding]]:
        columns = [c for c in finding_events.c if c.name not in ("id", "session_scan_id")]
        query = (
            sa.select(*columns)
            .where(finding_events.c.session_scan_id == session_scan_id)
            .order_by(finding_events.c.id)
        )
        out = []
        with self._reading() as db:
            for row in db.execute(query):
                data = dict(row._mapping)
                at, kind = data.pop("at"), data.pop("type")
                out.append((str(at), str(kind), StoredFinding(**data)))
        return out

    def diff(self, before_id: int, after_id: int) -> ScanDiff:
        before, after = self.scan(before_id), self.scan(after_id)
        old = {f.fingerprint: f for f in self.findings(before_id)}
        new = {f.fingerprint: f for f in self.findings(after_id)}
        return ScanDiff(
            before=before,
            after=after,
            new=_sorted(new[k] for k in new.keys() - old.keys()),
            resolved=_sorted(old[k] for k in old.keys() - new.keys()),
        )


def _sorted(findings: Iterable[StoredFinding]) -> list[StoredFinding]:
    return sorted(findings, key=lambda f: (f.rule_id, f.kind, f.namespace or "", f.name, f.path))


def _safe(url: str) -> str:
    """The URL without its password (also one given as a query parameter, which libpq reads)."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return "(invalid URL)"
    hidden = {k: "***" for k in parsed.query if k.lower() in _SECRET_PARAMETERS}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


_SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile", "sslkey"})


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message (it names the host, never the password)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
