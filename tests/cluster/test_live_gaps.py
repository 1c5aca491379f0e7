"""Parts of a live cluster that cannot be read are coverage gaps, not aborts; namespace
arguments are checked and listed once. Against the real kube-apiserver (tests/testcluster.py),
some through a proxy that makes one collection fail."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from kubeward.cluster.client import ApiClient
from kubeward.scan import ClusterTarget, ScanRequest, run_scan
from tests.cli_helpers import kubeward
from tests.conftest import ROOT
from tests.testcluster import TestCluster

NAMESPACE = "gaps"
ARGO = "v1alpha1.argoproj.io"


def privileged_pod(name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox:1.36", "securityContext": {"privileged": True}}
            ]
        },
    }


@pytest.fixture(scope="module")
def populated(cluster: TestCluster) -> TestCluster:
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            privileged_pod("root"),
        ]
    )
    return cluster


# -- a broken aggregated API -------------------------------------------------------------------


@pytest.fixture
def broken_argo_api(cluster: TestCluster) -> Iterator[None]:
    """An APIService for Argo Rollouts' group whose service does not exist (an uninstalled
    operator leaves this behind): its discovery document answers 503."""
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": ARGO},
        "spec": {
            "group": "argoproj.io",
            "version": "v1alpha1",
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
            "insecureSkipTLSVerify": True,
            "service": {"name": "nowhere", "namespace": "kube-system", "port": 443},
        },
    }
    cluster.apply([api_service])
    try:
        deadline = time.monotonic() + 30
        with cluster.client() as api:
            while "argoproj.io" not in {g["name"] for g in api.get("/apis").json()["groups"]}:
                assert time.monotonic() < deadline, "the APIService never showed in /apis"
                time.sleep(0.2)
        yield
    finally:
        with cluster.client() as api:
            api.delete(f"/apis/apiregistration.k8s.io/v1/apiservices/{ARGO}")


@pytest.mark.usefixtures("broken_argo_api")
def test_a_broken_aggregated_api_is_a_gap_not_an_abort(populated: TestCluster) -> None:
    args = ("scan", "--cluster", "--kubeconfig", populated.kubeconfig, "-n", NAMESPACE)
    run = kubeward(*args, "-f", "json", cwd=ROOT)
    assert run.code == 2, run.stderr
    report = json.loads(run.stdout)
    (gap,) = [g for g in report["coverage"] if g["group"] == "argoproj.io"]
    assert gap["resource"] == "rollouts"
    assert "/apis/argoproj.io/v1alpha1" in gap["message"]
    assert "503" in gap["message"]
    assert {g["group"] for g in report["coverage"]} == {"argoproj.io"}
    # the rest was scanned
    assert "W001" in {f["ruleId"] for f in report["findings"]}
    partial = kubeward(*args, "--allow-partial", "-f", "json", cwd=ROOT)
    assert partial.code == 1, partial.stderr
    warned = json.loads(partial.stdout)["warnings"]
    assert any("rollouts.argoproj.io" in w["message"] for w in warned)


# -- one collection failing (through a fault-injecting proxy) ---------------------------------


class FaultProxy:
    """Plain-HTTP proxy to the API server (admin credentials upstream) that answers requests
    whose path matches ``pattern`` with ``status`` instead, and counts them."""

    def __init__(self, cluster: TestCluster, workdir: Path) -> None:
        self.cluster = cluster
        self.rule: tuple[re.Pattern[str], int, dict[str, str]] | None = None
        self.hits = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if proxy.rule is not None and proxy.rule[0].search(self.path):
                    proxy.hits += 1
                    status = proxy.rule[1]
                    body = json.dumps(
                        {"kind": "Status", "code": status, "message": f"injected {status}"}
                    ).encode()
                    self._answer(status, body, proxy.rule[2])
                    return
                with proxy.cluster.client() as api:
                    accept = self.headers.get("Accept", "application/json")
                    upstream = api.get(self.path, headers={"Accept": accept})
                self._answer(upstream.status_code, upstream.content, {})

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.kubeconfig = workdir / "proxy.kubeconfig"
        port = self.server.server_address[1]
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "p", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                    "users": [{"name": "u", "user": {"token": "unused"}}],
                    "contexts": [{"name": "p", "context": {"cluster": "p", "user": "u"}}],
                    "current-context": "p",
                }
            )
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail(self, pattern: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.rule = (re.compile(pattern), status, headers or {})
        self.hits = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(populated: TestCluster, tmp_path: Path) -> Iterator[FaultProxy]:
    running = FaultProxy(populated, tmp_path)
    try:
        yield running
    finally:
        running.close()


DEPLOYMENTS = rf"^/apis/apps/v1/namespaces/{NAMESPACE}/deployments\?"


@pytest.mark.parametrize("status", [500, 503, 429, 400])
def test_one_failing_collection_is_a_gap(
    proxy: FaultProxy, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ApiClient, "_pause", staticmethod(lambda attempt, retry_after: None))
    proxy.fail(DEPLOYMENTS, status, {"Retry-After": "1"} if status == 429 else None)
    target = ClusterTarget(
        kubeconfig=str(proxy.kubeconfig), namespaces=(NAMESPACE,), allow_partial=True
    )
    result = run_scan(ScanRequest(paths=(), cluster=target))
    (gap,) = result.coverage
    assert (gap.resource, gap.group, gap.namespace) == ("deployments", "apps", NAMESPACE)
    assert gap.message.startswith(str(status)) and f"injected {status}" in gap.message
    # retried as the client retries (429 and 5xx), not for ever; a 400 is not retried
    assert proxy.hits == (1 if status == 400 else 5)
    assert "W001" in {f.rule_id for f in result.findings}
    assert not result.errors


def test_a_failing_collection_exits_2_without_allow_partial(proxy: FaultProxy) -> None:
    proxy.fail(DEPLOYMENTS, 400)
    args = ("scan", "--cluster", "--kubeconfig", proxy.kubeconfig, "-n", NAMESPACE)
    run = kubeward(*args, cwd=ROOT)
    assert run.code == 2, run.stderr
    assert "internal error" not in run.stderr
    assert "cannot list deployments.apps in namespace gaps: 400" in run.stdout
    partial = kubeward(*args, "--allow-partial", cwd=ROOT)
    assert partial.code == 1, partial.stderr


def test_retry_after_is_honoured(proxy: FaultProxy) -> None:
    """A lasting 429 waits as told (Retry-After: 1, four retries), then is a gap."""
    proxy.fail(DEPLOYMENTS, 429, {"Retry-After": "1"})
    target = ClusterTarget(
        kubeconfig=str(proxy.kubeconfig), namespaces=(NAMESPACE,), allow_partial=True
    )
    started = time.monotonic()
    result = run_scan(ScanRequest(paths=(), cluster=target, select=("W001",)))
    assert time.monotonic() - started >= 4
    assert proxy.hits == 5
    assert [g.resource for g in result.coverage] == ["deployments"]


# -- namespace arguments -----------------------------------------------------------------------


def test_an_unknown_namespace_is_a_usage_error(populated: TestCluster, tmp_path: Path) -> None:
    for command in ("scan --cluster", "audit --db " + str(tmp_path / "history.db")):
        args = [*command.split(), "--kubeconfig", str(populated.kubeconfig), "-n", "gasp"]
        run = kubeward(*args, cwd=ROOT)
        assert run.code == 2, (command, run.stdout, run.stderr)
        assert "no namespace gasp" in run.stderr


def test_a_namespace_given_twice_is_scanned_once(populated: TestCluster) -> None:
    base = ("scan", "--cluster", "--kubeconfig", populated.kubeconfig, "-f", "json")
    once = json.loads(kubeward(*base, "-n", NAMESPACE, cwd=ROOT).stdout)
    twice = json.loads(kubeward(*base, "-n", NAMESPACE, "-n", NAMESPACE, cwd=ROOT).stdout)
    assert twice["summary"]["objects"] == once["summary"]["objects"]
    assert twice["summary"]["findings"] == once["summary"]["findings"]
    assert twice["scan"]["cluster"]["namespaces"] == [NAMESPACE]


@pytest.fixture(scope="module")
def pods_only(populated: TestCluster) -> Path:
    """A user who may list Pods in NAMESPACE and nothing else; the namespace also has a
    deny-all Ingress NetworkPolicy (which that user cannot see)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "pods-only", "namespace": NAMESPACE},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "bob-pods", "namespace": NAMESPACE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods-only"},
        "subjects": [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    deny_all = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny-all", "namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    populated.apply([role, binding, deny_all])
    return populated.user_kubeconfig("bob")


def test_an_identity_that_cannot_read_namespaces_is_warned(pods_only: Path) -> None:
    run = kubeward(
        "scan", "--cluster", "--kubeconfig", pods_only, "-n", NAMESPACE, "--allow-partial",
        "-f", "json", cwd=ROOT,
    )  # fmt: skip
    assert run.code == 1, run.stderr
    warnings = [w["message"] for w in json.loads(run.stdout)["warnings"]]
    assert any(f"cannot check that namespace {NAMESPACE} exists" in w for w in warnings)


# -- inventory rules do not judge what could not be read ---------------------------------------


def test_inventory_rules_do_not_judge_unread_kinds(populated: TestCluster, pods_only: Path) -> None:
    """N003 ("no NetworkPolicy selects these pods") and A002 (the ServiceAccount) are not
    judged where NetworkPolicies and ServiceAccounts could not be read."""
    args = ("scan", "--cluster", "-n", NAMESPACE, "--select", "N003,A002,W001", "-f", "json")
    admin = json.loads(kubeward(*args, "--kubeconfig", populated.kubeconfig, cwd=ROOT).stdout)
    assert "N003" not in {f["ruleId"] for f in admin["findings"]}  # the deny-all selects it
    run = kubeward(*args, "--kubeconfig", pods_only, "--allow-partial", cwd=ROOT)
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    assert {f["ruleId"] for f in report["findings"]} == {"W001"}
    rules = {r["id"]: r for r in report["rules"]}
    for rule_id, kind in (("N003", "NetworkPolicy"), ("A002", "ServiceAccount")):
        assert rules[rule_id]["skipped"] >= 1 and rules[rule_id]["failed"] == 0
        assert any(kind in reason for reason in rules[rule_id]["skipReasons"]), rules[rule_id]


# -- JUnit lists the gaps ----------------------------------------------------------------------


def test_junit_lists_coverage_gaps_with_allow_partial(proxy: FaultProxy) -> None:
    proxy.fail(DEPLOYMENTS, 400)
    run = kubeward(
        "scan", "--cluster", "--kubeconfig", proxy.kubeconfig, "-n", NAMESPACE,
        "--allow-partial", "-f", "junit", cwd=ROOT,
    )  # fmt: skip
    assert run.code == 1, run.stderr
    root = ET.fromstring(run.stdout.split("\n", 1)[1])  # noqa: S314 - our own output
    (suite,) = [s for s in root if s.get("name") == "kubeward coverage"]
    (case,) = suite
    assert case.get("name") == f"list deployments.apps in namespace {NAMESPACE}"
    skipped = case.find("skipped")
    assert skipped is not None and "400" in (skipped.get("message") or "")
    assert suite.get("skipped") == "1"
    assert int(root.get("skipped") or 0) >= 1
