"""A real OCI registry for tests: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1.

The config is written here (never the package's, which binds every interface); storage is a
temporary directory. ``tools/ensure-registry.sh`` installs the package in CI. Distribution 2.8
has no referrers API, so Sigstore bundles are found through the referrers tag, which is the
fallback kubeward implements (the API answers 404 here).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.testcluster import free_port


def binary() -> str | None:
    return shutil.which("docker-registry")


@contextlib.contextmanager
def running(directory: Path, htpasswd: Path | None = None) -> Iterator[str]:
    """Start a registry; yield its ``host:port`` (plain HTTP)."""
    program = binary()
    if program is None:
        raise RuntimeError("docker-registry is not installed (tools/ensure-registry.sh)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth = (
        f"auth:\n  htpasswd:\n    realm: kubeward-test\n    path: {htpasswd}\n" if htpasswd else ""
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
        deadline = time.monotonic() + 20
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited: {(directory / 'registry.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("docker-registry did not start within 20 s")
            time.sleep(0.05)
        yield address
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@dataclass
class Signing:
    """A running registry plus the real tools that fill it: crane pushes, cosign signs."""

    address: str
    directory: Path
    crane: str
    cosign: str

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "COSIGN_PASSWORD": "", **(env or {})}, cwd=self.directory,
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
