"""`kubeward audit` on the real control plane: recorded scans, and --watch through changes
and an API server restart."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli_helpers import kubeward
from tests.conftest import ROOT
from tests.testcluster import TestCluster

NAMESPACE = "watched"


def deployment(name: str, *, privileged: bool) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "serviceAccountName": "shared",
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox:1.36",
                            "securityContext": {"privileged": privileged},
                        }
                    ],
                },
            },
        },
    }


class Lines:
    """JSON lines of a running command, read in the background."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.queue.put(json.loads(line))

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        """The first event (seen earlier or arriving within ``timeout``) that matches."""
        for index, event in enumerate(self.seen):
            if match(event):
                return self.seen.pop(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.queue.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None and self.queue.empty():
                    raise AssertionError(f"audit exited with {self.process.returncode}") from None
                continue
            if match(event):
                return event
            self.seen.append(event)
        raise AssertionError(f"no matching event in {timeout} s; unmatched: {self.seen[-10:]}")


def finding(kind: str, rule: str, name: str) -> Callable[[dict[str, Any]], bool]:
    def match(event: dict[str, Any]) -> bool:
        found = event.get("finding") or {}
        return (
            event["type"] == kind
            and found.get("ruleId") == rule
            and found.get("object", {}).get("name") == name
        )

    return match


def test_audit_records_scans(cluster: TestCluster, tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "recorded"}}
    cluster.apply([namespace])
    args = ("audit", "--kubeconfig", cluster.kubeconfig, "-n", "recorded", "--db", db,
            "--select", "W001")  # fmt: skip
    first = kubeward(*args, cwd=ROOT)
    assert first.code == 0, first.stderr
    assert "recorded as scan 1" in first.stderr
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "recorded"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1", "securityContext": {"privileged": True}}]},
    }  # fmt: skip
    cluster.apply([pod])
    second = kubeward(*args, cwd=ROOT)
    assert second.code == 1  # the privileged pod
    changes = json.loads(kubeward("diff", "1", "2", "--db", db, "-f", "json", cwd=ROOT).stdout)
    assert "W001" in {f["ruleId"] for f in changes["new"]}
    assert changes["resolved"] == []
    rows = json.loads(kubeward("history", "--db", db, "-f", "json", cwd=ROOT).stdout)
    assert [r["kind"] for r in rows] == ["audit", "audit"]
    assert rows[0]["source"].startswith("cluster kubeward-test")
    assert rows[0]["source"].endswith(", recorded")
    assert rows[0]["scope"]["namespaces"] == ["recorded"]


def test_a_whole_cluster_audit_and_a_namespace_audit_diff_on_what_both_read(
    cluster: TestCluster, tmp_path: Path
) -> None:
    """The privileged pod in `elsewhere` was never read by the `-n narrow` audit: not
    resolved by it."""
    db = tmp_path / "history.db"
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                   for name in ("narrow", "elsewhere")])  # fmt: skip
    cluster.apply([{
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "elsewhere"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1", "securityContext": {"privileged": True}}]},
    }])  # fmt: skip
    common = ("--kubeconfig", cluster.kubeconfig, "--db", db, "--select", "W001")
    assert kubeward("audit", *common, cwd=ROOT).code == 1
    assert kubeward("audit", "-n", "narrow", *common, cwd=ROOT).code == 0
    changes = json.loads(kubeward("diff", "1", "2", "--db", db, "-f", "json", cwd=ROOT).stdout)
    assert changes["resolved"] == []
    assert changes["outOfAfterScope"] >= 1
    assert (changes["before"]["scope"]["namespaces"], changes["after"]["scope"]["namespaces"]) == (
        None, ["narrow"]
    )  # fmt: skip


def test_watch_sees_changes_and_survives_an_api_server_restart(
    cluster: TestCluster, tmp_path: Path
) -> None:
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}])
    cluster.apply([deployment("before", privileged=True)])
    db = tmp_path / "history.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "kubeward", "audit", "--watch",
         "--kubeconfig", str(cluster.kubeconfig), "-n", NAMESPACE, "--db", str(db),
         "--select", "W001,A003,N003"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    lines = Lines(process)
    try:
        snapshot = lines.wait_for(lambda e: e["type"] == "snapshot")
        assert snapshot["findings"] >= 1  # "before" is privileged
        # create
        cluster.apply([deployment("web", privileged=True)])
        lines.wait_for(finding("new", "W001", "web"))
        # an inventory rule: two workloads now share the `shared` service account
        lines.wait_for(finding("new", "A003", "web"))
        # an update that fixes a finding
        cluster.apply([deployment("web", privileged=False)])
        lines.wait_for(finding("resolved", "W001", "web"))
        # delete: its findings resolve, and the other workload no longer shares its account
        cluster.delete(deployment("web", privileged=False))
        lines.wait_for(finding("resolved", "A003", "before"))
        # restart the API server; a change made as soon as it is back must not be missed
        cluster.restart_apiserver()
        cluster.apply([deployment("after-restart", privileged=True)])
        lines.wait_for(finding("new", "W001", "after-restart"), timeout=90)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    assert process.returncode == 0
    lines.wait_for(lambda e: e["type"] == "stopped", timeout=5)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.stdout is not None
    process.stdout.close()
    assert "Traceback" not in stderr
    rows = json.loads(kubeward("history", "--db", db, "-f", "json", cwd=ROOT).stdout)
    assert len(rows) == 2  # the snapshot at start and the one at the end
    changes = json.loads(
        kubeward("diff", str(rows[0]["id"]), str(rows[1]["id"]), "--db", db, "-f", "json",
                 cwd=ROOT).stdout
    )  # fmt: skip
    assert ("W001", "after-restart") in {(f["ruleId"], f["name"]) for f in changes["new"]}


def _start_watch(cluster_args: list[str], *more: str) -> tuple[subprocess.Popen[bytes], Lines]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kubeward", "audit", "--watch", *cluster_args, *more],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    return process, Lines(process)


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_a_watch_that_is_forbidden_is_a_coverage_gap(cluster: TestCluster, tmp_path: Path) -> None:
    """An identity that may list but not watch: each collection becomes a gap, emitted and
    recorded, and the session's exit code says so."""
    namespace = "listonly"
    cluster.apply([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "list-only"},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "lister-list-only"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "list-only"},
         "subjects": [{"kind": "User", "name": "lister", "apiGroup": "rbac.authorization.k8s.io"}]},
    ])  # fmt: skip
    db = tmp_path / "history.db"
    lister = cluster.user_kubeconfig("lister")
    process, lines = _start_watch(
        ["--kubeconfig", str(lister), "-n", namespace, "--db", str(db)], "--snapshot-interval", "2"
    )
    try:
        assert lines.wait_for(lambda e: e["type"] == "snapshot")["coverageGaps"] == 0
        gap = lines.wait_for(lambda e: e["type"] == "gap" and e["resource"] == "configmaps")
        assert (gap["verb"], gap["namespace"]) == ("watch", namespace)
        assert "no longer allowed to watch" in gap["message"]
        recorded = lines.wait_for(lambda e: e["type"] == "recorded", timeout=30)
        assert recorded["coverageGaps"] > 0
    finally:
        code = _stop(process)
    assert code == 2
    rows = json.loads(kubeward("history", "--db", db, "-f", "json", cwd=ROOT).stdout)
    assert rows[0]["coverageGaps"] == 0
    assert all(row["coverageGaps"] > 0 for row in rows[1:])
    unread = {(u["kind"], u["namespace"]) for u in rows[-1]["scope"]["unread"]}
    assert ("ConfigMap", namespace) in unread


def test_watch_keeps_to_its_namespaces(cluster: TestCluster, tmp_path: Path) -> None:
    """Namespace objects are watched cluster-wide: one outside `-n` is not the session's."""
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mine"}}])
    db = tmp_path / "history.db"
    process, lines = _start_watch(
        ["--kubeconfig", str(cluster.kubeconfig), "-n", "mine", "--db", str(db)], "--select", "N011"
    )
    try:
        lines.wait_for(lambda e: e["type"] == "snapshot")
        cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "not-mine"}}])
        # a change in the audited namespace, seen after the one outside it
        cluster.apply([{"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": "mine", "labels": {"changed": "yes"}}}])  # fmt: skip
        time.sleep(3)
    finally:
        _stop(process)
    lines.wait_for(lambda e: e["type"] == "stopped", timeout=5)
    named = [
        e["finding"]["object"]["name"]
        for e in lines.seen + list(lines.queue.queue)
        if "finding" in e
    ]
    assert "not-mine" not in named
    rows = json.loads(kubeward("history", "--db", db, "-f", "json", cwd=ROOT).stdout)
    assert rows[0]["objects"] == rows[-1]["objects"]
