"""How kubeward reaches the API server a kubeconfig names: credentials in the server URL,
``tls-server-name`` and ``proxy-url``, against the real test control plane.

The helpers in the middle (a TCP forwarder, a CONNECT proxy, an HTTP server that records
headers) listen on loopback addresses only and stop with their test.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from kubeward.cluster import kubeconfig
from kubeward.cluster.client import ApiClient
from kubeward.errors import ClusterError
from tests.cli_helpers import kubeward
from tests.conftest import ROOT
from tests.testcluster import TestCluster, free_port

USER = "canary-url-user"
PASSWORD = "canary-server-url-passw0rd"


def edited(cluster: TestCluster, target: Path, **fields: Any) -> Path:
    """The admin kubeconfig with fields of its cluster entry replaced."""
    data = yaml.safe_load(cluster.kubeconfig.read_text())
    data["clusters"][0]["cluster"].update(fields)
    target.write_text(yaml.safe_dump(data))
    return target


def api_port(cluster: TestCluster) -> int:
    return int(cluster.server.rsplit(":", 1)[1])


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for end in (source, sink):  # ends the other direction too
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


def _tunnel(client: socket.socket, upstream: socket.socket) -> None:
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join(5)


class _Relay:
    """Accepts on ``host``; each connection is handed to ``handle`` in a thread of its own."""

    def __init__(self, host: str) -> None:
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(5)


class _Forwarder(_Relay):
    """Plain TCP to 127.0.0.1:``target`` (TLS passes through untouched)."""

    def __init__(self, host: str, target: int) -> None:
        self.target = target
        super().__init__(host)

    def _serve(self, client: socket.socket) -> None:
        with socket.create_connection(("127.0.0.1", self.target)) as upstream:
            _tunnel(client, upstream)


class _ConnectProxy(_Relay):
    """An HTTP proxy that only tunnels (CONNECT), and records each request line."""

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and (chunk := client.recv(4096)):
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode()
        self.seen.append(line)
        method, target, _ = line.split(" ", 2)
        host, port = target.rsplit(":", 1)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            return
        with socket.create_connection((host, int(port))) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _tunnel(client, upstream)


def connect_fails(config: Path, match: str) -> ClusterError:
    """The error of a first request with ``config``."""
    with (
        ApiClient(kubeconfig.load(str(config)), retries=0) as client,
        pytest.raises(ClusterError, match=match) as caught,
    ):
        client.get("/version")
    return caught.value


@contextlib.contextmanager
def running(relay: _Relay) -> Iterator[_Relay]:
    try:
        yield relay
    finally:
        relay.close()


# -- credentials in the server URL --------------------------------------------------------------


def test_a_password_in_the_server_url_is_never_shown_stored_or_sent(
    cluster: TestCluster, tmp_path: Path
) -> None:
    port = api_port(cluster)
    config = edited(
        cluster, tmp_path / "userinfo", server=f"https://{USER}:{PASSWORD}@127.0.0.1:{port}"
    )
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "userinfo"}}])
    reports = tmp_path / "reports"
    reports.mkdir()
    scan = kubeward(
        "scan", "--cluster", "--kubeconfig", config, "-n", "userinfo",
        "-f", "json", "-o", reports / "report.json", "-f", "sarif", "-o", reports / "report.sarif",
        "-f", "junit", "-o", reports / "report.xml", "-f", "html", "-o", reports / "report.html",
        "-f", "table", cwd=ROOT,
    )  # fmt: skip
    assert scan.code in (0, 1), scan.stderr
    report = json.loads((reports / "report.json").read_text())
    assert report["scan"]["cluster"]["server"] == f"https://127.0.0.1:{port}"
    assert any("server URL holds credentials" in w["message"] for w in report["warnings"])
    db = tmp_path / "history.sqlite"
    audit = kubeward("audit", "--kubeconfig", config, "-n", "userinfo", "--db", db, cwd=ROOT)
    assert audit.code in (0, 1), audit.stderr
    history = kubeward("history", "--db", db, "-f", "json", cwd=ROOT)
    rbac = kubeward(
        "rbac", "who-can", "get", "secrets", "--cluster", "--kubeconfig", config, cwd=ROOT
    )
    assert rbac.code == 0, rbac.stderr
    assert "server URL holds credentials" in rbac.stderr
    dead = edited(cluster, tmp_path / "dead", server=f"https://{USER}:{PASSWORD}@127.0.0.1:9")
    unreachable = kubeward("scan", "--cluster", "--kubeconfig", dead, cwd=ROOT)
    assert unreachable.code == 2
    assert "cannot reach https://127.0.0.1:9" in unreachable.stderr
    with sqlite3.connect(db) as connection:
        stored = "\n".join(
            str(row)
            for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            for row in connection.execute(f"SELECT * FROM {table}")  # noqa: S608 - test's own DB
        )
    assert f"127.0.0.1:{port}" in stored
    shown = [
        *(path.read_text() for path in reports.iterdir()),
        *(run.stdout + run.stderr for run in (scan, audit, history, rbac, unreachable)),
        stored,
        db.read_bytes().decode("utf-8", "replace"),
    ]
    for text in shown:
        assert PASSWORD not in text
        assert USER not in text


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    authorizations: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.authorizations.append(self.headers.get("Authorization"))
        body = b'{"major": "1", "minor": "35"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_credentials_in_the_server_url_are_not_sent_as_basic_auth(tmp_path: Path) -> None:
    """httpx sends a URL's user:password as basic auth: the server must never get them."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = tmp_path / "config"
        config.write_text(yaml.safe_dump({
            "clusters": [{"name": "c", "cluster": {
                "server": f"http://{USER}:{PASSWORD}@127.0.0.1:{server.server_address[1]}"}}],
            "users": [{"name": "u", "user": {}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }))  # fmt: skip
        with ApiClient(kubeconfig.load(str(config)), retries=0) as client:
            assert client.get("/version")["minor"] == "35"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert _RecordingHandler.authorizations == [None]


# -- tls-server-name ----------------------------------------------------------------------------


def test_tls_server_name_is_the_name_sent_and_verified(
    cluster: TestCluster, tmp_path: Path
) -> None:
    """The serving certificate is for localhost and 127.0.0.1; reached at 127.0.0.2, only
    ``tls-server-name: localhost`` makes the connection verifiable."""
    with running(_Forwarder("127.0.0.2", api_port(cluster))) as forwarder:
        server = f"https://127.0.0.2:{forwarder.port}"
        named = edited(
            cluster, tmp_path / "named", server=server, **{"tls-server-name": "localhost"}
        )
        with ApiClient(kubeconfig.load(str(named)), retries=0) as client:
            assert client.get("/version")["major"] == "1"
        unnamed = edited(cluster, tmp_path / "unnamed", server=server)
        connect_fails(unnamed, "IP address mismatch")
    # a name the certificate does not hold fails, even where the host itself would verify
    wrong = edited(cluster, tmp_path / "wrong", **{"tls-server-name": "wrong.example"})
    connect_fails(wrong, "Hostname mismatch")


# -- proxy-url ----------------------------------------------------------------------------------


def test_proxy_url_is_used_with_tls_server_name(cluster: TestCluster, tmp_path: Path) -> None:
    with running(_ConnectProxy("127.0.0.1")) as proxy:
        proxied = edited(
            cluster, tmp_path / "proxied", **{"proxy-url": f"http://127.0.0.1:{proxy.port}"}
        )
        scan = kubeward("scan", "--cluster", "--kubeconfig", proxied, "-n", "default", cwd=ROOT)
        assert scan.code in (0, 1), scan.stderr
        assert f"CONNECT 127.0.0.1:{api_port(cluster)} HTTP/1.1" in proxy.seen
        # through the tunnel, the name verified is still tls-server-name
        wrong = edited(
            cluster, tmp_path / "wrong",
            **{"proxy-url": f"http://127.0.0.1:{proxy.port}", "tls-server-name": "wrong.example"},
        )  # fmt: skip
        connect_fails(wrong, "Hostname mismatch")


def test_a_dead_proxy_is_an_error_not_a_direct_connection(
    cluster: TestCluster, tmp_path: Path
) -> None:
    port = free_port()
    dead = edited(
        cluster, tmp_path / "dead", **{"proxy-url": f"http://p:{PASSWORD}@127.0.0.1:{port}"}
    )
    caught = connect_fails(dead, "via proxy")
    assert f"via proxy http://127.0.0.1:{port}" in str(caught)
    assert PASSWORD not in str(caught)


@pytest.mark.skipif(importlib.util.find_spec("socksio") is not None, reason="socksio installed")
def test_a_socks_proxy_without_socksio_is_a_clear_error(
    cluster: TestCluster, tmp_path: Path
) -> None:
    socks = edited(
        cluster, tmp_path / "socks", **{"proxy-url": f"socks5://u:{PASSWORD}@127.0.0.1:1080"}
    )
    run = kubeward("scan", "--cluster", "--kubeconfig", socks, cwd=ROOT)
    assert run.code == 2
    assert "SOCKS proxy, which needs the Python package socksio" in run.stderr
    assert "does not connect around a configured proxy" in run.stderr
    assert PASSWORD not in run.stderr
    assert "Traceback" not in run.stderr
