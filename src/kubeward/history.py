"""The history store: scans over time, their findings, and the changes a watch saw.

SQLite by default (``$XDG_DATA_HOME/kubeward/history.db``), any SQLAlchemy URL otherwise
(``postgresql+psycopg://user@host/db``). Three tables:

- ``scans``: one row per recorded scan (``kubeward audit``, and each snapshot of
  ``kubeward audit --watch``), with its counts and its *scope* — the source it read (cluster
  context and server, or files), the namespaces and the kinds it could not read — so that a
  diff never calls a finding resolved only because the later scan did not look at its object;
- ``scan_findings``: the findings of each scan, keyed by a *fingerprint* — rule, object
  (kind, namespace, name) and path — so the same problem is recognised across scans even when
  its line, resourceVersion or wording changes;
- ``finding_events``: ``new`` and ``resolved`` findings as a watch saw them, in order.

Like every report, the store holds findings' keys, locations and messages, never a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from kubeward.errors import KubewardError
from kubeward.model import CoverageGap, Finding, ScanResult

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
    sa.Column("scope", sa.Text),
)
"""``scope`` (JSON, see ``Scope``) was added later: a database created by an earlier kubeward
gets the column when opened (``HistoryStore._add_missing_columns``); its old rows have none."""


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


class IncomparableScans(KubewardError):
    """Two scans read different sources (clusters, contexts, files): no diff between them."""


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
class Unread:
    """Objects a scan could not read (a coverage gap): ``kind`` None = any kind,
    ``namespace`` None = in every namespace (or a cluster-scoped kind)."""

    kind: str | None
    namespace: str | None


@dataclass(frozen=True)
class Scope:
    """What a scan read. Two scans of the same ``source`` can be compared; a finding is
    comparable only on an object that both scans read."""

    source: str
    """``cluster CONTEXT (SERVER)`` or ``files PATH, PATH``."""
    namespaces: tuple[str, ...] | None
    """The namespaces read; None = all of them (always for files)."""
    unread: tuple[Unread, ...] = ()

    def covers(self, finding: StoredFinding) -> bool:
        """Whether this scan read the finding's object (so its absence here means something).

        Stored findings name a kind without its API group: a gap on Knative ``services`` also
        leaves core Services unread — the cautious side (not compared rather than resolved)."""
        for gap in self.unread:
            if gap.kind in (None, finding.kind) and gap.namespace in (None, finding.namespace):
                return False
        if self.namespaces is None:
            return True
        if finding.namespace is not None:
            return finding.namespace in self.namespaces
        # cluster-scoped: a namespaced read keeps its own Namespace objects and every other
        # cluster-scoped kind (ClusterRoles grant rights inside it); see cluster.live.read
        return finding.kind != "Namespace" or finding.name in self.namespaces

    def label(self) -> str:
        """The source and its namespaces (what ``history`` lists as a scan's source)."""
        if self.source.startswith("files "):
            return self.source
        return f"{self.source}, {', '.join(self.namespaces or ()) or 'all namespaces'}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.source,
                "namespaces": None if self.namespaces is None else list(self.namespaces),
                "unread": [{"kind": u.kind, "namespace": u.namespace} for u in self.unread],
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> Scope | None:
        """None for rows recorded before scopes were (or that hold something else)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            namespaces = data["namespaces"]
            return cls(
                source=str(data["source"]),
                namespaces=None if namespaces is None else tuple(map(str, namespaces)),
                unread=tuple(Unread(u["kind"], u["namespace"]) for u in data["unread"]),
            )
        except (ValueError, TypeError, KeyError):
            return None


ResourceKinds = Mapping[tuple[str, str], str]
"""(API group, resource) → kind, for the resources a live scan reads (``cluster.live``
provides it: this module sits beside the cluster client, not above it)."""


def scope_of(result: ScanResult, resource_kinds: ResourceKinds | None = None) -> Scope:
    """The scope of a scan result: its cluster and namespaces (or files), and its gaps."""
    cluster = result.scan.cluster
    if cluster is None:
        return Scope(source="files " + ", ".join(result.scan.inputs), namespaces=None)
    return Scope(
        source=f"cluster {cluster.context} ({cluster.server})",
        namespaces=tuple(cluster.namespaces) or None,
        unread=_unread(result.coverage, resource_kinds or {}),
    )


def _unread(gaps: Iterable[CoverageGap], resource_kinds: ResourceKinds) -> tuple[Unread, ...]:
    """A gap names a resource (``cronjobs`` in ``batch``), a finding its kind: translate (a
    resource not in ``resource_kinds`` stands for any kind, so nothing there counts as read)."""
    return tuple(
        Unread(resource_kinds.get((gap.group, gap.resource)), gap.namespace) for gap in gaps
    )


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
    scope: Scope | None
    """None: recorded by a kubeward that did not record scopes."""


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
    out_of_after_scope: list[StoredFinding]
    """Findings of ``before`` gone from ``after`` on objects ``after`` did not read: not
    resolved, just not looked at."""
    out_of_before_scope: list[StoredFinding]
    """Findings of ``after`` on objects ``before`` did not read: not new, just not compared."""
    notes: list[str]


class HistoryStore:
    """One database; tables are created on first use, columns added since then on open."""

    def __init__(self, url: str, resource_kinds: ResourceKinds | None = None) -> None:
        """``resource_kinds``: how coverage gaps' resources translate into kinds (without it a
        gap leaves every kind of its namespace unread: fewer findings compared, none wrongly)."""
        self.url = url
        self.resource_kinds = resource_kinds
        try:
            self.engine = sa.create_engine(url)
            _metadata.create_all(self.engine)
            self.has_scope = self._add_missing_columns()
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:  # ValueError: a bad port
            raise HistoryError(f"history database {_safe(url)}: {_reason(exc)}") from None
        self._scan_columns = [c for c in scans.c if self.has_scope or c.name != "scope"]

    def _add_missing_columns(self) -> bool:
        """Add ``scans.scope`` to a database created before it; whether the column is there.

        A user who may read but not alter the tables keeps reading (and recording) without
        scopes, as before: their scans diff as unscoped ones do."""
        if "scope" in _column_names(self.engine):
            return True
        column_type = scans.c.scope.type.compile(dialect=self.engine.dialect)
        try:
            with self.engine.begin() as db:
                db.execute(sa.text(f"ALTER TABLE scans ADD COLUMN scope {column_type}"))
        except sa.exc.SQLAlchemyError:
            pass  # another kubeward added it meanwhile, or no permission: look again
        return "scope" in _column_names(self.engine)

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
        if self.has_scope:
            row["scope"] = scope_of(result, self.resource_kinds).to_json()
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
        query = sa.select(*self._scan_columns).order_by(scans.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self._reading() as db:
            return [_scan_row(row._mapping) for row in db.execute(query)][::-1]

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
            row = db.execute(sa.select(*self._scan_columns).where(scans.c.id == scan_id)).first()
        if row is None:
            raise HistoryError(f"no scan {scan_id} in {_safe(self.url)}")
        return _scan_row(row._mapping)

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
        """Findings new in ``after`` and resolved since ``before``, on the objects both read.

        Scans of different sources raise ``IncomparableScans``. A scan of unknown scope
        (recorded before scopes were) is taken to have read everything, with a note."""
        before, after = self.scan(before_id), self.scan(after_id)
        if before.scope and after.scope and before.scope.source != after.scope.source:
            raise IncomparableScans(
                f"scan {before.id} read {before.scope.source} and scan {after.id} read "
                f"{after.scope.source}: their findings are about different objects, so a diff "
                "would call every one of them new or resolved"
            )
        old = {f.fingerprint: f for f in self.findings(before_id)}
        new = {f.fingerprint: f for f in self.findings(after_id)}
        resolved, out_of_after = _split([old[k] for k in old.keys() - new.keys()], after.scope)
        appeared, out_of_before = _split([new[k] for k in new.keys() - old.keys()], before.scope)
        return ScanDiff(
            before=before,
            after=after,
            new=appeared,
            resolved=resolved,
            out_of_after_scope=out_of_after,
            out_of_before_scope=out_of_before,
            notes=_unscoped_notes(before, after),
        )


def _column_names(engine: sa.Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("scans")}


def _scan_row(mapping: sa.RowMapping) -> ScanRow:
    data = dict(mapping)
    data["scope"] = Scope.from_json(data.get("scope"))
    return ScanRow(**data)


def _split(
    findings: Iterable[StoredFinding], scope: Scope | None
) -> tuple[list[StoredFinding], list[StoredFinding]]:
    """Findings on objects the other scan read (comparable), and the others."""
    comparable: list[StoredFinding] = []
    out: list[StoredFinding] = []
    for finding in findings:
        (comparable if scope is None or scope.covers(finding) else out).append(finding)
    return _sorted(comparable), _sorted(out)


def _unscoped_notes(before: ScanRow, after: ScanRow) -> list[str]:
    notes = []
    for row, listed in ((before, "new"), (after, "resolved")):
        if row.scope is None:
            notes.append(
                f"scan {row.id} was recorded without its scope (by an earlier kubeward): "
                f"findings on objects it did not read may be listed as {listed}"
            )
    return notes


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
