"""The history store, on SQLite and on a real PostgreSQL server, and its commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from kubeward.cluster.live import RESOURCE_KINDS
from kubeward.history import (
    HistoryError,
    HistoryStore,
    IncomparableScans,
    Scope,
    StoredFinding,
    Unread,
    database_url,
    fingerprint,
)
from kubeward.model import Finding, ScanResult
from kubeward.model.results import ClusterInfo, CoverageGap
from tests.cli_helpers import kubeward
from tests.conftest import scan_paths

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: shop}}
spec:
  serviceAccountName: web
  automountServiceAccountToken: false
  containers:
    - name: c
      image: registry.corp.example/web:1
      securityContext: {{privileged: {privileged}, runAsNonRoot: {non_root}}}
"""


def scan_of(tmp_path: Path, privileged: bool, non_root: bool) -> ScanResult:
    """A scan of pod.yaml, as edited (the same input each time: the same source)."""
    path = tmp_path / "pod.yaml"
    path.write_text(POD.format(privileged=str(privileged).lower(), non_root=str(non_root).lower()))
    return scan_paths([path], select=("W001", "W016"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    if request.param == "sqlite":
        url = database_url(str(tmp_path / "history.db"))
    else:
        url = request.getfixturevalue("postgres_url")
    history = HistoryStore(url, RESOURCE_KINDS)
    yield history
    history.close()


def test_scans_findings_and_diff(store: HistoryStore, tmp_path: Path) -> None:
    first = scan_of(tmp_path, privileged=True, non_root=False)
    second = scan_of(tmp_path, privileged=False, non_root=False)
    assert {f.rule_id for f in first.findings} == {"W001", "W016"}
    a = store.record_scan(first, kind="scan", source="test")
    b = store.record_scan(second, kind="scan", source="test")
    rows = store.scans()
    assert [r.id for r in rows][-2:] == [a, b]
    assert rows[-2].findings == 2
    assert rows[-2].high + rows[-2].critical + rows[-2].medium + rows[-2].low == 2
    stored = store.findings(a)
    assert {f.fingerprint for f in stored} == {fingerprint(f) for f in first.findings}
    assert all(f.file and f.line for f in stored)
    diff = store.diff(a, b)
    assert [f.rule_id for f in diff.resolved] == ["W001"]
    assert diff.new == []
    back = store.diff(b, a)
    assert [f.rule_id for f in back.new] == ["W001"]
    assert store.scans(limit=1)[0].id == b


def test_events_keep_their_order(store: HistoryStore, tmp_path: Path) -> None:
    result = scan_of(tmp_path, privileged=True, non_root=True)
    session = store.record_scan(result, kind="audit", source="test")
    (finding,) = result.findings
    store.record_events(session, [("new", finding)], at="2026-11-27T10:00:00Z")
    store.record_events(session, [("resolved", finding)], at="2026-11-27T10:05:00Z")
    events = store.events(session)
    assert [(at, kind, f.rule_id) for at, kind, f in events] == [
        ("2026-11-27T10:00:00Z", "new", "W001"),
        ("2026-11-27T10:05:00Z", "resolved", "W001"),
    ]


def test_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="history database") as caught:
        HistoryStore("postgresql+psycopg://kubeward:hunter2@127.0.0.1:9/none")
    assert "hunter2" not in str(caught.value)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    run = kubeward("history", "--db", str(blocked / "history.db"), cwd=tmp_path)
    assert run.code == 2
    assert "Traceback" not in run.stderr
    # a password given as a query parameter (libpq reads it), and a port that is no number
    for url in ("postgresql+psycopg://kubeward@127.0.0.1:9/db?password=hunter2",
                "postgresql+psycopg://kubeward:hunter2@127.0.0.1:notaport/db"):  # fmt: skip
        with pytest.raises(HistoryError, match="history database") as caught:
            HistoryStore(url)
        assert "hunter2" not in str(caught.value)


def test_a_store_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    """Tables of another shape (or no SELECT permission) at a read: an error, not a crash."""
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE scans (id INTEGER PRIMARY KEY, something TEXT)")
    store = HistoryStore(database_url(str(path)))
    with pytest.raises(HistoryError, match="history database"):
        store.scans()


def test_a_list_position_is_no_identity() -> None:
    """subjects[1] was bob, then mallory: not the same finding."""
    from kubeward.model import Finding, ObjectRef, Severity

    def finding(message: str, path: str) -> Finding:
        ref = ObjectRef(api_version="v1", kind="ClusterRoleBinding", namespace=None, name="b")
        return Finding(rule_id="R001", rule_name="n", severity=Severity.HIGH, title="t",
                       message=message, object=ref, path=path, file=None, line=None)  # fmt: skip

    assert fingerprint(finding("User bob ...", "subjects[1]")) != fingerprint(
        finding("User mallory ...", "subjects[1]")
    )
    # outside lists the wording is not part of the identity
    assert fingerprint(finding("a", "roleRef")) == fingerprint(finding("b", "roleRef"))


def test_history_and_diff_commands(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = HistoryStore(database_url(str(db)))
    a = store.record_scan(scan_of(tmp_path, True, False), kind="scan", source="first")
    b = store.record_scan(scan_of(tmp_path, False, False), kind="scan", source="second")
    store.close()
    table = kubeward("history", "--db", str(db), cwd=tmp_path)
    assert table.code == 0
    assert "first" in table.stdout
    assert "second" in table.stdout
    rows = json.loads(kubeward("history", "--db", str(db), "-f", "json", cwd=tmp_path).stdout)
    assert [r["id"] for r in rows] == [a, b]
    changes = json.loads(
        kubeward("diff", str(a), str(b), "--db", str(db), "-f", "json", cwd=tmp_path).stdout
    )
    assert [f["ruleId"] for f in changes["resolved"]] == ["W001"]
    assert changes["new"] == []
    text = kubeward("diff", str(a), str(b), "--db", str(db), cwd=tmp_path)
    assert "1 resolved" in text.stdout
    assert "W001" in text.stdout
    missing = kubeward("diff", "1", "99", "--db", str(db), cwd=tmp_path)
    assert missing.code == 2
    assert "no scan 99" in missing.stderr


CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: sales-report, namespace: default}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: c
              image: registry.corp.example/report:1
              securityContext: {privileged: true}
"""
PROD = "https://prod.example:6443"


def cluster_scan(
    tmp_path: Path,
    manifests: Sequence[str],
    namespaces: Sequence[str] = (),
    *,
    context: str = "prod",
    server: str = PROD,
    gaps: Sequence[CoverageGap] = (),
) -> ScanResult:
    """A scan as `kubeward audit` records one: these objects, read from a cluster."""
    path = tmp_path / "objects.yaml"
    path.write_text("---\n".join(manifests))
    result = scan_paths([path], select=("W001",))
    cluster = ClusterInfo(context=context, server=server, namespaces=list(namespaces))
    scan = msgspec.structs.replace(result.scan, cluster=cluster)
    return msgspec.structs.replace(result, scan=scan, coverage=list(gaps))


def pod(privileged: bool) -> str:
    return POD.format(privileged=str(privileged).lower(), non_root="true")


def names(findings: Sequence[StoredFinding]) -> list[str]:
    return [f"{f.rule_id} {f.kind}/{f.name}" for f in findings]


def test_a_narrower_scan_resolves_nothing_outside_its_namespaces(
    store: HistoryStore, tmp_path: Path
) -> None:
    """Scan 1 read every namespace, scan 2 only `shop`: the CronJob in `default` that scan 2
    never read is not resolved (nor, the other way round, new)."""
    everything = store.record_scan(
        cluster_scan(tmp_path, [pod(privileged=True), CRONJOB]), kind="audit", source="t"
    )
    shop = store.record_scan(
        cluster_scan(tmp_path, [pod(privileged=False)], ["shop"]), kind="audit", source="t"
    )
    assert store.scan(shop).scope == Scope(f"cluster prod ({PROD})", ("shop",))
    assert store.scan(everything).scope == Scope(f"cluster prod ({PROD})", None)
    forward = store.diff(everything, shop)
    assert names(forward.resolved) == ["W001 Pod/web"]  # really fixed
    assert names(forward.out_of_after_scope) == ["W001 CronJob/sales-report"]
    assert (forward.new, forward.out_of_before_scope, forward.notes) == ([], [], [])
    back = store.diff(shop, everything)
    assert names(back.new) == ["W001 Pod/web"]
    assert names(back.out_of_before_scope) == ["W001 CronJob/sales-report"]
    assert back.resolved == []


def test_findings_in_a_coverage_gap_are_not_resolved(store: HistoryStore, tmp_path: Path) -> None:
    full = store.record_scan(
        cluster_scan(tmp_path, [pod(privileged=True), CRONJOB]), kind="audit", source="t"
    )
    forbidden = CoverageGap(
        verb="list", resource="cronjobs", group="batch", namespace="default", message="no"
    )
    partial = store.record_scan(
        cluster_scan(tmp_path, [pod(privileged=True)], gaps=[forbidden]), kind="audit", source="t"
    )
    assert store.scan(partial).scope == Scope(
        f"cluster prod ({PROD})", None, (Unread("CronJob", "default"),)
    )
    changes = store.diff(full, partial)
    assert changes.resolved == []
    assert names(changes.out_of_after_scope) == ["W001 CronJob/sales-report"]


def test_what_a_scope_covers() -> None:
    def finding(kind: str, namespace: str | None, name: str) -> StoredFinding:
        return StoredFinding(fingerprint="f", rule_id="R001", severity="high", kind=kind,
                             namespace=namespace, name=name, path="p", message="m", file=None,
                             line=None)  # fmt: skip

    shop = Scope("cluster c (s)", ("shop",))
    assert shop.covers(finding("Pod", "shop", "web"))
    assert not shop.covers(finding("Pod", "default", "web"))
    # a namespaced read still lists cluster-scoped kinds, but only its own Namespace objects
    assert shop.covers(finding("ClusterRoleBinding", None, "admin"))
    assert shop.covers(finding("Namespace", None, "shop"))
    assert not shop.covers(finding("Namespace", None, "default"))
    everything = Scope("cluster c (s)", None)
    assert everything.covers(finding("Pod", "default", "web"))
    gaps = Scope("cluster c (s)", None, (Unread("Secret", None), Unread(None, "team")))
    assert not gaps.covers(finding("Secret", "shop", "token"))
    assert not gaps.covers(finding("Pod", "team", "web"))
    assert gaps.covers(finding("Pod", "shop", "web"))


def test_scans_of_different_sources_are_not_compared(store: HistoryStore, tmp_path: Path) -> None:
    prod = store.record_scan(cluster_scan(tmp_path, [CRONJOB]), kind="audit", source="t")
    others = [
        cluster_scan(tmp_path, [], context="staging", server="https://staging.example:6443"),
        cluster_scan(tmp_path, [], context="prod", server="https://127.0.0.1:6443"),
        scan_of(tmp_path, privileged=True, non_root=True),  # files
    ]
    for other in others:
        scan_id = store.record_scan(other, kind="audit", source="t")
        for before, after in ((prod, scan_id), (scan_id, prod)):
            with pytest.raises(IncomparableScans, match="different objects"):
                store.diff(before, after)


def test_diff_command_reports_what_it_did_not_compare(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = HistoryStore(database_url(str(db)))
    a = store.record_scan(cluster_scan(tmp_path, [pod(True), CRONJOB]), kind="audit", source="1")
    b = store.record_scan(cluster_scan(tmp_path, [pod(True)], ["shop"]), kind="audit", source="2")
    staging = cluster_scan(tmp_path, [], context="staging", server="https://staging.example")
    c = store.record_scan(staging, kind="audit", source="3")
    store.close()
    changes = json.loads(
        kubeward("diff", str(a), str(b), "--db", str(db), "-f", "json", cwd=tmp_path).stdout
    )
    assert (changes["new"], changes["resolved"], changes["notes"]) == ([], [], [])
    assert (changes["outOfAfterScope"], changes["outOfBeforeScope"]) == (1, 0)
    assert changes["before"]["scope"] == {
        "source": f"cluster prod ({PROD})", "namespaces": None, "unread": []
    }  # fmt: skip
    assert changes["after"]["scope"]["namespaces"] == ["shop"]
    text = kubeward("diff", str(a), str(b), "--db", str(db), cwd=tmp_path)
    assert text.code == 0
    assert "0 resolved" in text.stdout
    assert "sales-report" not in text.stdout
    assert f"1 findings of scan {a} not compared: on objects scan {b} did not read" in text.stdout
    assert f"after: scan {b} at" in text.stdout
    assert "(cluster prod (https://prod.example:6443), shop)" in text.stdout
    for fmt in ("table", "json"):
        other = kubeward("diff", str(a), str(c), "--db", str(db), "-f", fmt, cwd=tmp_path)
        assert other.code == 2
        assert other.stdout == ""
        assert f"kubeward: error: scan {a} read cluster prod ({PROD}) and scan {c} read " in (
            other.stderr
        )


OLD_SCANS_COLUMNS = ("started_at", "kind", "source", "verdict", "objects", "findings",
                     "critical", "high", "medium", "low", "info", "errors", "coverage_gaps")  # fmt: skip


def old_schema() -> sa.MetaData:
    """The tables as the kubeward before scan scopes created them (no ``scans.scope``)."""
    old = sa.MetaData()
    texts = {"started_at": 40, "kind": 20, "source": 500, "verdict": 10}
    sa.Table(
        "scans", old, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *(sa.Column(name, sa.String(texts[name]) if name in texts else sa.Integer,
                    nullable=False) for name in OLD_SCANS_COLUMNS),
    )  # fmt: skip

    def finding_columns() -> list[sa.Column[object]]:
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

    sa.Table(
        "scan_findings", old, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False, index=True),
        *finding_columns(),
    )  # fmt: skip
    sa.Table(
        "finding_events", old, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("session_scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        *finding_columns(),
    )  # fmt: skip
    return old


def create_old_database(url: str, findings: Sequence[Finding] = ()) -> None:
    """The old tables, and (with findings) one scan recorded as the old kubeward did."""
    old = old_schema()
    engine = sa.create_engine(url)
    try:
        old.create_all(engine)
        if not findings:
            return
        row: dict[str, object] = dict.fromkeys(OLD_SCANS_COLUMNS, 0)
        row.update(started_at="2026-01-01T00:00:00Z", kind="audit", source="cluster prod",
                   verdict="fail", findings=len(findings))  # fmt: skip
        with engine.begin() as db:
            db.execute(sa.insert(old.tables["scans"]).values(row))
            db.execute(
                sa.insert(old.tables["scan_findings"]),
                [{"scan_id": 1, "fingerprint": fingerprint(f), "rule_id": f.rule_id,
                  "severity": f.severity.value, "kind": f.object.kind,
                  "namespace": f.object.namespace, "name": f.object.name, "path": f.path,
                  "message": f.message} for f in findings],
            )  # fmt: skip
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database with the old tables, and one scan of the whole cluster in it."""
    if request.param == "sqlite":
        url = database_url(str(tmp_path / "old.db"))
    else:
        server = request.getfixturevalue("postgres_url")
        name = f"old_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            db.execute(sa.text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    create_old_database(url, cluster_scan(tmp_path, [pod(privileged=True), CRONJOB]).findings)
    return url


def test_a_database_of_the_previous_version_opens_records_and_diffs(
    old_database: str, tmp_path: Path
) -> None:
    store = HistoryStore(old_database)
    try:
        assert store.has_scope
        (old,) = store.scans()
        assert (old.id, old.scope, old.findings) == (1, None, 2)
        shop = store.record_scan(
            cluster_scan(tmp_path, [pod(privileged=True)], ["shop"]), kind="audit", source="t"
        )
        assert store.scan(shop).scope == Scope(f"cluster prod ({PROD})", ("shop",))
        forward = store.diff(old.id, shop)  # the later scan's scope is known: it is used
        assert forward.resolved == []
        assert names(forward.out_of_after_scope) == ["W001 CronJob/sales-report"]
        assert forward.notes == [
            "scan 1 was recorded without its scope (by an earlier kubeward): findings on "
            "objects it did not read may be listed as new"
        ]
        back = store.diff(shop, old.id)
        assert (back.new, names(back.out_of_before_scope)) == ([], ["W001 CronJob/sales-report"])
        assert "may be listed as resolved" in back.notes[0]
    finally:
        store.close()
    HistoryStore(old_database).close()  # the column is there now: opening again is quiet


def test_a_database_that_cannot_be_altered_is_still_read(tmp_path: Path) -> None:
    """A read-only user of an old database: `history` and `diff` work, without scopes."""
    path = tmp_path / "old.db"
    create_old_database(database_url(str(path)))
    writer = HistoryStore(database_url(str(path)))
    first = writer.record_scan(cluster_scan(tmp_path, [CRONJOB]), kind="audit", source="t")
    second = writer.record_scan(cluster_scan(tmp_path, [], ["shop"]), kind="audit", source="t")
    writer.close()
    engine = sa.create_engine(database_url(str(path)))
    with engine.begin() as db:  # back to the old shape
        db.execute(sa.text("ALTER TABLE scans DROP COLUMN scope"))
    engine.dispose()
    reader = HistoryStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        assert not reader.has_scope
        assert [row.scope for row in reader.scans()] == [None, None]
        changes = reader.diff(first, second)  # unknown scopes: compared as before, with notes
        assert names(changes.resolved) == ["W001 CronJob/sales-report"]
        assert len(changes.notes) == 2
    finally:
        reader.close()


def test_without_the_resource_kinds_a_gap_leaves_its_namespace_unread(tmp_path: Path) -> None:
    """The store sits beside the cluster client (it cannot import it): given no translation
    of resources into kinds, a gap counts for every kind of its namespace — fewer findings
    compared, none called resolved wrongly."""
    store = HistoryStore(database_url(str(tmp_path / "h.db")))
    try:
        full = store.record_scan(
            cluster_scan(tmp_path, [pod(privileged=True), CRONJOB]), kind="audit", source="t"
        )
        forbidden = CoverageGap(
            verb="list", resource="cronjobs", group="batch", namespace="default", message="no"
        )
        partial = store.record_scan(
            cluster_scan(tmp_path, [pod(privileged=True)], gaps=[forbidden]),
            kind="audit", source="t",
        )  # fmt: skip
        scope = store.scan(partial).scope
        assert scope is not None and scope.unread == (Unread(None, "default"),)
        assert store.diff(full, partial).resolved == []
    finally:
        store.close()
