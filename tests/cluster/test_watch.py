"""Watch streams against the real API server: an expired resourceVersion relists."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from kubeward.cluster import client as client_module
from kubeward.cluster import kubeconfig, live
from kubeward.cluster import kubeconfig as kubeconfig_module
from kubeward.cluster import watch as watch_module
from kubeward.cluster.client import ApiClient, Authenticator
from kubeward.cluster.watch import CollectionWatch, Event, ObjectEvent, Relisted, Status
from kubeward.model.secrets import LAST_APPLIED
from tests.cli_helpers import kubeward
from tests.conftest import ROOT
from tests.testcluster import TestCluster

CANARY = "canary-watch-s3cr3t"
CANARY_B64 = "Y2FuYXJ5LXdhdGNoLXMzY3IzdA=="


def test_an_expired_resource_version_relists_the_collection(cluster: TestCluster) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "expired"}}
    configmaps = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "expired"}}
        for i in range(3)
    ]  # fmt: skip
    cluster.apply([namespace, *configmaps])
    connection = kubeconfig.load(str(cluster.kubeconfig))
    kind = next(k for k in live.CATALOG_KINDS if k.kind == "ConfigMap")
    with ApiClient(connection) as client:
        resource = live.discover(client, [kind]).resources[kind]
        read = live.read(client, ["expired"], [kind])
    (collection,) = read.collections
    # changes, then history compacted and the API server restarted (its watch cache starts
    # afresh): the list's version is gone, so the watch gets 410 and must relist
    cluster.apply([{**configmaps[1], "data": {"changed": "before"}}])
    cluster.compact_etcd()
    cluster.restart_apiserver()
    events: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    watch = CollectionWatch(connection, collection, events, stop)
    watch.start()
    try:
        first = events.get(timeout=30)
        assert isinstance(first, Relisted), first
        names = sorted(item["metadata"]["name"] for item in first.items)
        assert [n for n in names if n.startswith("cm-")] == ["cm-0", "cm-1", "cm-2"]
        (changed,) = [i for i in first.items if i["metadata"]["name"] == "cm-1"]
        assert changed["data"] == {"changed": "before"}  # the relist has what the watch missed
        assert first.collection.resource == resource
        # and the watch goes on from the relisted version
        cluster.apply([{**configmaps[0], "data": {"changed": "yes"}}])
        while True:
            event = events.get(timeout=30)
            if isinstance(event, ObjectEvent) and event.item["metadata"]["name"] == "cm-0":
                break
        assert event.type == "MODIFIED"
    finally:
        stop.set()


def _watch_of(
    cluster: TestCluster, namespace: str, kind_name: str, kubeconfig: Path | None = None
) -> tuple[CollectionWatch, queue.Queue[Event], threading.Event]:
    connection = kubeconfig_module.load(str(kubeconfig or cluster.kubeconfig))
    kind = next(k for k in live.CATALOG_KINDS if k.kind == kind_name)
    with ApiClient(connection) as client:
        read = live.read(client, [namespace], [kind])
    (collection,) = read.collections
    events: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    return CollectionWatch(connection, collection, events, stop), events, stop


def _next_object(events: queue.Queue[Event], name: str, timeout: float = 30) -> ObjectEvent:
    deadline = time.monotonic() + timeout
    while True:
        event = events.get(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(event, ObjectEvent) and event.item["metadata"]["name"] == name:
            return event


def test_secret_changes_arrive_metadata_only(cluster: TestCluster) -> None:
    """A watch is asked for PartialObjectMetadata (not ...List, which the server fails on
    every event, closing the stream without sending anything)."""
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wsecrets"}}])
    watch, events, stop = _watch_of(cluster, "wsecrets", "Secret")
    watch.start()
    try:
        manifest = {"apiVersion": "v1", "kind": "Secret", "stringData": {"password": CANARY}}
        cluster.apply([{
            **manifest,
            "metadata": {"name": "leaky", "namespace": "wsecrets",
                         "annotations": {LAST_APPLIED: json.dumps(manifest)}},
        }])  # fmt: skip
        event = _next_object(events, "leaky")
        assert event.type == "ADDED"
        assert event.item["kind"] == "PartialObjectMetadata"
        assert "data" not in event.item and "stringData" not in event.item
        obj = live.live_object(event.item, watch.collection.resource, set())
        assert CANARY not in json.dumps(obj.raw)  # the annotation is redacted, keys kept
    finally:
        stop.set()


def test_a_stream_that_ends_without_events_is_resumed_with_backoff(
    cluster: TestCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server closes every stream at once (the old List Accept header on a watch, once a
    Secret changes): the watch must back off, not reconnect thousands of times a second."""
    monkeypatch.setattr(
        client_module,
        "METADATA_ONLY_WATCH",
        client_module.METADATA_ONLY,  # what it once sent
    )
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wclosing"}}])
    watch, _, stop = _watch_of(cluster, "wclosing", "Secret")
    cluster.apply([{"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "s", "namespace": "wclosing"}}])  # fmt: skip
    watch.start()
    try:
        time.sleep(4)
        # 0.5, 1, 2 s (jittered): a handful of requests, not thousands
        assert 2 <= watch.streams <= 8, watch.streams
    finally:
        stop.set()


@contextlib.contextmanager
def _proxy_without_metadata_only(cluster: TestCluster) -> Iterator[Path]:
    """A plain-HTTP proxy to the API server (admin upstream) that drops the ``as=`` Accept
    parameters, as a server or proxy that ignores them; yields a kubeconfig for it."""
    upstream = cluster.client()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            answer = upstream.get(self.path, headers={"Accept": "application/json"})
            body = answer.content
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = cluster.workdir / "stripping-proxy.kubeconfig"
    server_url = f"http://127.0.0.1:{server.server_port}"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "p",
                "clusters": [{"name": "p", "cluster": {"server": server_url}}],
                "users": [{"name": "u", "user": {"token": "unused"}}],
                "contexts": [{"name": "p", "context": {"cluster": "p", "user": "u"}}],
            }
        )
    )
    try:
        yield config
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()


def test_secret_values_sent_anyway_are_dropped_and_reported(cluster: TestCluster) -> None:
    cluster.apply([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wproxied"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "wproxied"},
         "stringData": {"password": CANARY}},
    ])  # fmt: skip
    with _proxy_without_metadata_only(cluster) as config:
        with ApiClient(kubeconfig_module.load(str(config))) as client:
            read = live.read(client, ["wproxied"])
        assert CANARY_B64 not in json.dumps([o.raw for o in read.objects])
        assert any("ignored the metadata-only request" in w for w in read.warnings)
        run = kubeward("scan", "--cluster", "--kubeconfig", config, "-n", "wproxied",
                       "--select", "S007", "-f", "json", cwd=ROOT)  # fmt: skip
        report = json.loads(run.stdout)
        assert report["findings"] == []  # S007 judges values: it never sees any
        assert any("metadata-only" in w["message"] for w in report["warnings"])


EXEC_PLUGIN = """#!/bin/sh
echo run >> "$(dirname "$0")/runs"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",\
"status":{"token":"%s","expirationTimestamp":"%s"}}' \
  "$(cat "$(dirname "$0")/token")" "$(cat "$(dirname "$0")/expires")"
"""


class ExecIdentity:
    """A service account whose tokens are bound to Secrets (deleting one revokes its token),
    handed to kubeward by an exec credential plugin that prints the current one."""

    def __init__(self, cluster: TestCluster, directory: Path, namespace: str) -> None:
        self.cluster, self.directory, self.namespace = cluster, directory, namespace
        self.tokens: dict[str, str] = {}
        cluster.apply([
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "auditor", "namespace": namespace}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": f"{namespace}-auditor"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": namespace}]},
        ])  # fmt: skip
        plugin = directory / "plugin.sh"
        plugin.write_text(EXEC_PLUGIN)
        plugin.chmod(0o700)
        (directory / "expires").write_text("2999-01-01T00:00:00Z")
        self.kubeconfig = directory / "exec.kubeconfig"
        config = yaml.safe_load(cluster.kubeconfig.read_text())
        config["users"][0]["user"] = {
            "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                     "interactiveMode": "Never"}
        }  # fmt: skip
        self.kubeconfig.write_text(yaml.safe_dump(config))

    @property
    def runs(self) -> int:
        runs = self.directory / "runs"
        return len(runs.read_text().splitlines()) if runs.exists() else 0

    def bind(self, name: str) -> None:
        """The plugin now hands out a token bound to Secret ``name``."""
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": name, "namespace": self.namespace}}  # fmt: skip
        self.cluster.apply([secret])
        with self.cluster.client() as api:
            uid = api.get(f"/api/v1/namespaces/{self.namespace}/secrets/{name}").json()["metadata"][
                "uid"
            ]
            answer = api.post(
                f"/api/v1/namespaces/{self.namespace}/serviceaccounts/auditor/token",
                json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Secret",
                                                  "name": name, "uid": uid}}},
            )  # fmt: skip
        answer.raise_for_status()
        self.tokens[name] = answer.json()["status"]["token"]
        (self.directory / "token").write_text(self.tokens[name])

    def revoke(self, name: str) -> None:
        with self.cluster.client() as api:
            api.delete(f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
        deadline = time.monotonic() + 30
        config = kubeconfig_module.load(str(self.cluster.token_kubeconfig(self.tokens[name], name)))
        while time.monotonic() < deadline:  # the authenticator caches tokens for a while
            with ApiClient(config, retries=0) as client:
                try:
                    client.get("/api/v1/namespaces")
                except client_module.Unauthorized:
                    return
            time.sleep(0.5)
        raise AssertionError("the token was not revoked")


def test_refused_exec_credentials_are_renewed_then_fatal(
    cluster: TestCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "WATCH_SECONDS", 2)  # reconnect soon after a revocation
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wexec"}}])
    identity = ExecIdentity(cluster, tmp_path, "wexec")
    identity.bind("bind1")
    watch, events, stop = _watch_of(cluster, "wexec", "ConfigMap", identity.kubeconfig)
    watch.auth = Authenticator(watch.connection)
    watch.start()
    try:
        # a revoked token: the plugin is run again, and the watch goes on with the new one
        runs = identity.runs
        identity.bind("bind2")
        identity.revoke("bind1")
        # The stream opened before the revocation ends after WATCH_SECONDS, and an empty one is
        # resumed after a jittered backoff: wait for the refusal and the renewal it causes
        # (a fixed sleep raced that backoff).
        deadline = time.monotonic() + 30
        while identity.runs == runs and time.monotonic() < deadline:
            time.sleep(0.1)
        assert identity.runs > runs
        cluster.apply([{"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "after-revocation", "namespace": "wexec"}}])  # fmt: skip
        assert _next_object(events, "after-revocation").type == "ADDED"
        assert identity.runs < runs + 5  # once per refusal, not once per request
        # refused also when fresh: the watch stops, saying so (fatal for the session)
        identity.revoke("bind2")
        deadline = time.monotonic() + 30
        while True:
            event = events.get(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(event, Status) and event.fatal:
                break
        assert event.lost
        assert "refused the credentials (401 Unauthorized), also fresh ones" in event.message
        watch.join(timeout=10)
        assert not watch.is_alive()
    finally:
        stop.set()


def test_exec_credentials_are_renewed_before_they_expire(
    cluster: TestCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MIN_RENEW_INTERVAL", 0.0)
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wexpiry"}}])
    identity = ExecIdentity(cluster, tmp_path, "wexpiry")
    identity.bind("bind1")
    (tmp_path / "expires").write_text("2999-01-01T00:00:00Z")
    auth = Authenticator(kubeconfig_module.load(str(identity.kubeconfig)))
    first = auth.current()
    assert auth.current() is first  # far from expiring: the plugin is not run again
    assert identity.runs == 1
    (tmp_path / "expires").write_text("2000-01-01T00:00:00Z")  # the next token expires at once
    renewed = Authenticator(kubeconfig_module.load(str(identity.kubeconfig)))
    assert identity.runs == 2
    renewed.current()
    assert identity.runs == 3  # expired: run again before it is used
