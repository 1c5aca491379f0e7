"""`kubeward admission serve` as a process: TLS only, and SIGTERM drains what is in flight."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_admission import _self_signed, pod, review
from tests.testcluster import free_port


def start_process(
    port: int, cert: Path, key: Path, config: Path, log: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kubeward", "admission", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key),
         "--config", str(config), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip


def start(
    tmp_path: Path, config: str = "{}\n"
) -> tuple[subprocess.Popen[bytes], int, ssl.SSLContext]:
    cert, key = _self_signed(tmp_path, "127.0.0.1")
    (tmp_path / "kubeward.yaml").write_text(config)
    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:  # the child keeps its own descriptor
        server = start_process(port, cert, key, tmp_path / "kubeward.yaml", log)
    return healthy(server, port, cert, tmp_path / "server.log")


def healthy(
    server: subprocess.Popen[bytes], port: int, cert: Path, log: Path
) -> tuple[subprocess.Popen[bytes], int, ssl.SSLContext]:
    """``server`` once it answers /healthz over TLS (killed, its log raised, if it never does)."""
    trust = ssl.create_default_context(cafile=str(cert))
    trust.check_hostname = False  # the throwaway certificate names no host
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trust).text == "ok":
                return server, port, trust
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    server.wait()
    raise AssertionError(log.read_text())


def test_plain_http_and_old_tls_are_refused(tmp_path: Path) -> None:
    server, port, _ = start(tmp_path)
    try:
        try:
            plain = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert plain.status_code >= 400
        except httpx.TransportError:
            pass  # the TLS server drops a plain-text request: refused either way
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
        with warnings.catch_warnings():  # deprecated on purpose: the server must refuse it
            warnings.simplefilter("ignore", DeprecationWarning)
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                old.wrap_socket(raw),
            ):
                raise AssertionError("a TLS 1.1 handshake succeeded")
        except (ssl.SSLError, OSError):
            pass
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sigterm_answers_the_request_in_flight_then_exits(tmp_path: Path) -> None:
    server, port, trust = start(tmp_path)
    body = review(pod())
    head = (
        f"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        trust.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(head + body[:100])  # the request has started...
        time.sleep(0.3)
        server.send_signal(signal.SIGTERM)  # ...when the server is told to stop
        time.sleep(0.5)
        tls.sendall(body[100:])
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < 20:
            chunk = tls.recv(65536)
            if not chunk:
                break
            reply += chunk
    status, _, rest = reply.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 200"), reply[:300]
    payload = rest.split(b"\r\n\r\n", 1)[1]
    assert json.loads(payload)["response"]["allowed"] is True
    # drained, then gone the way a process stopped by SIGTERM goes (uvicorn re-raises it)
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)


NAMESPACE_READER = """\
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: prod-needs-owner}
spec:
  id: ACME041
  title: Production workload names no owner
  severity: medium
  remediation: Label it with its owner.
  match: {kinds: [Deployment]}
  validations:
    - expression: namespaceObject.metadata.?labels.?tier.orValue('') != 'prod'
      message: a workload in a production namespace names no owner
"""


def test_select_and_ignore_apply_to_users_policies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ignore:` drops users' policies from the webhook as it does from a scan: ACME001 does
    not judge, and ignored ACME041 (reads namespaceObject) needs no Namespaces to start."""
    (tmp_path / "policies").mkdir()
    acme = Path(__file__).parent / "policies" / "acme.yaml"
    (tmp_path / "policies" / "acme.yaml").write_text(acme.read_text())
    (tmp_path / "policies" / "namespaces.yaml").write_text(NAMESPACE_READER)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # no cluster to read
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    config = "policies: [policies]\nselect: [ACME]\nignore: [ACME001, ACME041]\n"
    server, port, trust = start(tmp_path, config)
    # no team label (ACME001, ignored) and one replica (ACME002, selected)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "shop"},
                  "spec": {"replicas": 1, "template": {"spec": {"containers": []}}}}  # fmt: skip
    try:
        reply = httpx.post(
            f"https://127.0.0.1:{port}/validate",
            content=review(deployment),
            headers={"Content-Type": "application/json"},
            verify=trust,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    answer = reply.json()["response"]
    assert answer["allowed"] is False
    assert answer["status"]["message"] == (
        "kubeward denied Deployment shop/web: ACME002 enough-replicas: fewer than two replicas"
    )


SERVE = """\
import sys
from pathlib import Path

from kubeward.admission.review import Reviewer
from kubeward.admission.server import serve
from kubeward.engine import EngineSettings
from kubeward.model.enforcement import AdmissionSettings
from kubeward.rules import ALL_RULES

cert, key, port = sys.argv[1:4]
serve(
    Reviewer(ALL_RULES, EngineSettings(), AdmissionSettings()), host="127.0.0.1", port=int(port),
    cert=Path(cert), key=Path(key), read_timeout=1.0, max_connections=6,
)
"""


def start_bounded(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, ssl.SSLContext]:
    """``serve`` itself, with a read timeout of 1 s and at most 6 connections."""
    cert, key = _self_signed(tmp_path, "127.0.0.1")
    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(cert), str(key), str(port)],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    return healthy(server, port, cert, tmp_path / "server.log")


def opened(port: int, trust: ssl.SSLContext, data: bytes) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = trust.wrap_socket(raw, server_hostname="127.0.0.1")
    if data:
        tls.sendall(data)
    return tls


def until_closed(tls: ssl.SSLSocket) -> bytes:
    """Everything the server sends until it closes the connection (10 s at most)."""
    reply = b""
    with tls:
        while chunk := tls.recv(65536):
            reply += chunk
    return reply


def validate(port: int, trust: ssl.SSLContext, body: bytes) -> httpx.Response:
    return httpx.post(
        f"https://127.0.0.1:{port}/validate", content=body, verify=trust,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip


def clean(log: str) -> bool:
    return "Traceback" not in log and "ERROR" not in log and "Exception" not in log


def test_stalled_requests_are_answered_408_and_closed(tmp_path: Path) -> None:
    """Partial headers, a partial body, a connection that sends nothing: each is closed once
    the read timeout passes (uvicorn alone kept them, and their memory, for ever)."""
    server, port, trust = start_bounded(tmp_path)
    try:
        started = time.monotonic()
        headers = opened(port, trust, b"POST /validate HTTP/1.1\r\nHost: x\r\n")
        body = opened(
            port, trust,
            b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"{" * 5000,
        )  # fmt: skip
        silent = opened(port, trust, b"")
        for stalled in (headers, body):
            reply = until_closed(stalled)
            assert reply.startswith(b"HTTP/1.1 408 "), reply
            assert reply.endswith(b'{"error":"the request was not received within 1 s"}')
        assert until_closed(silent) == b""
        assert time.monotonic() - started < 5
        assert validate(port, trust, review(pod())).json()["response"]["allowed"] is True
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert clean((tmp_path / "server.log").read_text())


def test_connections_over_the_bound_are_answered_503(tmp_path: Path) -> None:
    server, port, trust = start_bounded(tmp_path)
    try:
        stalled = [opened(port, trust, b"POST /validate HTTP/1.1\r\n") for _ in range(5)]
        busy = validate(port, trust, review(pod()))
        assert busy.status_code == 503
        for connection in stalled:  # the read timeout frees them
            assert until_closed(connection).startswith(b"HTTP/1.1 408 ")
        assert validate(port, trust, review(pod())).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sigterm_with_a_stalled_body_exits_quickly_and_cleanly(tmp_path: Path) -> None:
    """The request in flight never completes: the read timeout ends it (408), then the server
    exits; no 20 s wait, no cancelled task, no traceback in the log."""
    server, port, trust = start_bounded(tmp_path)
    stalled = opened(
        port, trust,
        b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{",
    )  # fmt: skip
    time.sleep(0.2)  # the application is reading the body
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    assert until_closed(stalled).startswith(b"HTTP/1.1 408 ")
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 5
    assert clean((tmp_path / "server.log").read_text()), (tmp_path / "server.log").read_text()


def test_a_selection_that_leaves_no_rule_does_not_start(tmp_path: Path) -> None:
    # a webhook that judges nothing admits everything: refused at start, as a scan is
    cert, key = _self_signed(tmp_path, "127.0.0.1")
    config = tmp_path / "kubeward.yaml"
    config.write_text("select: [W001]\nignore: [W]\n")
    done = subprocess.run(
        [sys.executable, "-m", "kubeward", "admission", "serve", "--port", str(free_port()),
         "--tls-cert", str(cert), "--tls-key", str(key), "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no rule left to run" in done.stderr and "admit everything" in done.stderr
