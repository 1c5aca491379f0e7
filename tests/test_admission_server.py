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
    raise AssertionError((tmp_path / "server.log").read_text())


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
            f"https://127.0.0.1:{port}/validate", content=review(deployment), verify=trust
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    answer = reply.json()["response"]
    assert answer["allowed"] is False
    assert answer["status"]["message"] == (
        "kubeward denied Deployment shop/web: ACME002 enough-replicas: fewer than two replicas"
    )
