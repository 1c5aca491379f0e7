"""The history store, on SQLite and on a real PostgreSQL server, and its commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeward.history import HistoryError, HistoryStore, database_url, fingerprint
from kubeward.model import ScanResult
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
    path = tmp_path / f"pod-{privileged}-{non_root}.yaml"
    path.write_text(POD.format(privileged=str(privileged).lower(), non_root=str(non_root).lower()))
    return scan_paths([path], select=("W001", "W016"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    if request.param == "sqlite":
        url = database_url(str(tmp_path / "history.db"))
    else:
        url = request.getfixturevalue("postgres_url")
    history = HistoryStore(url)
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
