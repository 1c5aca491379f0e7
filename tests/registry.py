"""Real OCI registries for tests, on 127.0.0.1.

* Debian's ``docker-registry`` (distribution 2.8): the config is written here (never the
  package's, which binds every interface); storage is a temporary directory.
  ``tools/ensure-registry.sh`` installs the package in CI. Distribution 2.8 has no referrers
  API (it answers 404), so Sigstore bundles are found through the referrers tag, the fallback
  kubeward implements.
* ``oci-registry`` (``tools/oci-registry``, built by ``make tools``): go-containerregistry's
  registry with the OCI 1.1 referrers API on, so cosign stores bundles without a referrers tag
  and kubeward must find them through ``GET /v2/<name>/referrers/<digest>``. It logs every
  request, which the tests read to tell which path kubeward took.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.testcluster import free_port


def binary() -> str | None:
    return shutil.which("docker-registry")


@contextlib.contextmanager
def running(
    directory: Path, htpasswd: Path | None = None, token: TokenService | None = None
) -> Iterator[str]:
    """Start a registry; yield its ``host:port`` (plain HTTP). ``htpasswd``: basic auth;
    ``token``: the bearer-token flow, with ``token`` as the token service."""
    program = binary()
    if program is None:
        raise RuntimeError("docker-registry is not installed (tools/ensure-registry.sh)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth = (
        f"auth:\n  htpasswd:\n    realm: kubeward-test\n    path: {htpasswd}\n" if htpasswd else ""
    )
    if token is not None:
        auth = (
            f"auth:\n  token:\n    realm: {token.realm}\n    service: {token.SERVICE}\n"
            f"    issuer: {token.ISSUER}\n    rootcertbundle: {token.certificate}\n"
        )
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: kubeward-test-only\n"
        f"{auth}"
    )
    log = (directory / "registry.log").open("ab")
    server = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        _wait_until_serving(server, address, directory / "registry.log", "docker-registry")
        yield f"localhost:{port}" if token is not None else address  # see TokenService.realm
    finally:
        _stop(server)
        log.close()


def referrers_binary() -> str | None:
    """The referrers-API registry (``KUBEWARD_OCI_REGISTRY``, set by the Makefile and conftest)."""
    program = os.environ.get("KUBEWARD_OCI_REGISTRY", "")
    return program if program and Path(program).is_file() else None


@contextlib.contextmanager
def running_referrers(directory: Path) -> Iterator[tuple[str, Path]]:
    """Start the referrers-API registry; yield its ``host:port`` (plain HTTP) and request log."""
    program = referrers_binary()
    if program is None:
        raise RuntimeError("oci-registry is not built (make tools)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "blobs").mkdir(exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    log_path = directory / "registry.log"
    log = log_path.open("ab")
    server = subprocess.Popen(
        [program, "-address", address, "-disk", str(directory / "blobs")],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_until_serving(server, address, log_path, "oci-registry")
        yield address, log_path
    finally:
        _stop(server)
        log.close()


def _wait_until_serving(
    server: subprocess.Popen[bytes], address: str, log: Path, name: str
) -> None:
    deadline = time.monotonic() + 20
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within 20 s")
        time.sleep(0.05)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass
class Signing:
    """A running registry plus the real tools that fill it: crane pushes, cosign signs."""

    address: str
    directory: Path
    crane: str
    cosign: str
    env: dict[str, str] = field(default_factory=dict)
    """For the tools, e.g. ``DOCKER_CONFIG`` with a registry's credentials."""
    log: Path | None = None
    """The registry's request log, where it keeps one (``oci-registry``)."""

    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request the registry logged so far (oci-registry
        logs ``GET /v2/... [status CODE message]``; no status means 200/201/202)."""
        if self.log is None:
            raise AssertionError("this registry keeps no request log")
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            parts = line.split()
            # "2026/01/01 12:00:00 GET /v2/a/manifests/x" [+ " 404 MANIFEST_UNKNOWN ..."]
            if len(parts) >= 4 and parts[2] in ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"):
                status = int(parts[4]) if len(parts) > 4 and parts[4].isdigit() else 200
                found.append((parts[2], urlparse(parts[3]).path, status))
        return found

    def put_manifest(self, repository: str, reference: str, manifest: dict[str, object]) -> str:
        """PUT a hand-written manifest (crane cannot); returns its digest."""
        body = json.dumps(manifest).encode()
        answer = httpx.put(
            f"http://{self.address}/v2/{repository}/manifests/{reference}", content=body,
            headers={"Content-Type": str(manifest["mediaType"])},
        )  # fmt: skip
        if answer.status_code != 201:
            raise AssertionError(f"PUT manifest {reference}: {answer.status_code} {answer.text}")
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def put_blob(self, repository: str, content: bytes) -> dict[str, object]:
        """A monolithic blob upload; returns the blob's descriptor (without mediaType)."""
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        answer = httpx.post(
            f"http://{self.address}/v2/{repository}/blobs/uploads/",
            params={"digest": digest}, content=content,
        )  # fmt: skip
        if answer.status_code != 201:
            raise AssertionError(f"blob upload: {answer.status_code} {answer.text}")
        return {"digest": digest, "size": len(content)}

    def run(self, *args: str) -> str:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "COSIGN_PASSWORD": "", **self.env}, cwd=self.directory,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def push(self, repository: str, tag: str, content: bytes | None = None) -> str:
        """A one-layer image with ``content`` (random by default); returns its digest."""
        layer = self.directory / f"layer-{secrets.token_hex(8)}.tar"
        with tarfile.open(layer, "w") as tar:
            data = content if content is not None else secrets.token_bytes(64)
            info = tarfile.TarInfo("content.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        reference = f"{self.address}/{repository}:{tag}"
        self.run(self.crane, "append", "--insecure", "-f", str(layer), "-t", reference)
        return self.run(self.crane, "digest", "--insecure", reference)

    def key_pair(self, name: str, algorithm: str = "ecdsa") -> tuple[Path, Path]:
        """(private key, public key) made by cosign (ECDSA P-256) or imported (Ed25519)."""
        if algorithm == "ecdsa":
            self.run(self.cosign, "generate-key-pair", "--output-key-prefix", name)
        else:
            private = ed25519.Ed25519PrivateKey.generate()
            pem = self.directory / f"{name}.pem"
            pem.write_bytes(
                private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            self.run(self.cosign, "import-key-pair", "--key", str(pem),
                     "--output-key-prefix", name)  # fmt: skip
        return self.directory / f"{name}.key", self.directory / f"{name}.pub"

    def sign(self, image: str, key: Path, *, bundle: bool) -> None:
        """``cosign sign`` offline (no transparency log), in either format."""
        self.run(
            self.cosign, "sign", "--key", str(key), "--use-signing-config=false",
            "--tlog-upload=false", "--allow-insecure-registry",
            f"--new-bundle-format={'true' if bundle else 'false'}", "-y", image,
        )  # fmt: skip

    def attest(self, image: str, key: Path) -> None:
        """An in-toto attestation (a Sigstore bundle with another predicate type)."""
        predicate = self.directory / "predicate.json"
        predicate.write_text('{"reviewed": true}')
        self.run(
            self.cosign, "attest", "--key", str(key), "--use-signing-config=false",
            "--tlog-upload=false", "--allow-insecure-registry", "--new-bundle-format=true",
            "--type", "https://example.com/review/v1", "--predicate", str(predicate), "-y",
            image,
        )  # fmt: skip


class TokenService:
    """A bearer-token service for the registry (distribution's token auth): checks basic
    credentials and issues ES256 JWTs whose x5c certificate the registry trusts."""

    SERVICE = "kubeward-test-registry"
    ISSUER = "kubeward-test-issuer"

    def __init__(self, directory: Path, username: str, password: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward test token issuer")])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )  # fmt: skip
        self.certificate = directory / "token-issuer.crt"
        self.certificate.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.issued: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # a name, not 127.0.0.1 (crane refuses private IP literals but the registry's own
        # host:port), and the registry's own host name: the registry is then addressed as
        # localhost too, since kubeward refuses loopback realms on another host (SSRF)
        self.realm = f"http://localhost:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TokenService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def token(self, scope: str) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        access = []
        for part in scope.split():
            kind, _, rest = part.partition(":")
            repository, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": repository, "actions": actions.split(",")})
        claims = {
            "iss": self.ISSUER,
            "sub": "puller",
            "aud": self.SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        der_signature = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der_signature)
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                if self.headers.get("Authorization") != service._expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                scope = " ".join(query.get("scope", []))
                token = service.token(scope)
                service.issued.append(scope)
                body = json.dumps({"token": token, "access_token": token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
