"""The registry client against registries that misbehave on purpose: a small fake OCI registry
on 127.0.0.1 that answers whatever a test tells it (redirects, slow bodies, compression
bombs, junk referrer lists, hostile token realms), with real simple-signing signatures."""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.model.signatures import SignatureStatus
from kubeward.signatures.cosign import load_public_key
from kubeward.signatures.policy import SignaturePolicy, SignatureRule
from kubeward.signatures.registry import (
    MAX_REFERRERS,
    Credentials,
    RegistryClient,
    RegistryError,
    check_hop,
    check_realm,
    shown,
)
from kubeward.signatures.verifier import MAX_SIGNATURES, ImageVerifier, may_be_bundle
from tests.cli_helpers import kubeward

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
Answer = tuple[int, dict[str, str], bytes]
Route = Answer | Callable[[BaseHTTPRequestHandler], None]


def sha(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


class Fake:
    """A registry (or token service) on 127.0.0.1 answering from ``routes`` by path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake.log.append((self.path, dict(self.headers)))
                route = fake.routes.get(self.path) or fake.routes.get(self.path.split("?")[0])
                route = route or fake.routes.get("*") or (404, {}, b"{}")
                if callable(route):
                    route(self)
                    return
                status, headers, body = route
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the client hung up on purpose (a refused or over-long answer)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.address = f"{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def manifest(self, repository: str, reference: str, document: dict[str, Any]) -> str:
        body = orjson.dumps(document)
        answer = (200, {"Content-Type": OCI_MANIFEST}, body)
        self.routes[f"/v2/{repository}/manifests/{reference}"] = answer
        self.routes[f"/v2/{repository}/manifests/{sha(body)}"] = answer
        return sha(body)

    def blob(self, repository: str, content: bytes) -> str:
        self.routes[f"/v2/{repository}/blobs/{sha(content)}"] = (200, {}, content)
        return sha(content)

    def image(self, repository: str = "acme/app") -> str:
        config = self.blob(repository, b'{"architecture":"amd64","os":"linux"}')
        return self.manifest(repository, "v1", {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config, "size": 37},
            "layers": [],
        })  # fmt: skip

    def asked(self, prefix: str) -> list[str]:
        return [path for path, _ in self.log if path.startswith(prefix)]


@pytest.fixture
def fake() -> Iterator[Fake]:
    server = Fake()
    yield server
    server.close()


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp_path_factory.mktemp("keys") / "release.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, public


def sig_layer(digest: str, signature: str, payload_size: int = 1) -> dict[str, Any]:
    return {
        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "digest": digest,
        "size": payload_size,
        "annotations": {"dev.cosignproject.cosign/signature": signature},
    }


def sign(
    fake: Fake, digest: str, key: ec.EllipticCurvePrivateKey, junk_before: int = 0,
    repository: str = "acme/app",
) -> None:  # fmt: skip
    """A simple-signing signature of ``digest`` at its ``.sig`` tag, after ``junk_before``
    layers that name payloads the registry does not have."""
    payload = orjson.dumps({
        "critical": {"identity": {"docker-reference": "x"},
                     "image": {"docker-manifest-digest": digest},
                     "type": "cosign container image signature"},
        "optional": None,
    })  # fmt: skip
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    junk = [sig_layer(sha(b"%d" % i), signature) for i in range(junk_before)]
    fake.manifest(repository, f"sha256-{digest.removeprefix('sha256:')}.sig", {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(b"{}"), "size": 2},
        "layers": [*junk, sig_layer(fake.blob(repository, payload), signature, len(payload))],
    })  # fmt: skip


_CLIENTS: list[RegistryClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def verifier(
    public: Path, *plain: str, timeout: float = 5.0,
    credentials: dict[str, Credentials] | None = None,
) -> ImageVerifier:  # fmt: skip
    key = load_public_key(public.read_bytes(), public.name)
    policy = SignaturePolicy(
        rules=(SignatureRule("test", ("**",), (key,)),),
        plain_http=frozenset(plain),
        timeout=timeout,
    )
    client = RegistryClient(timeout=timeout, insecure=policy.plain_http, credentials=credentials)
    _CLIENTS.append(client)
    return ImageVerifier(policy, client)


def test_the_fake_registry_verifies_a_signature(fake: Fake, signer: Any) -> None:
    digest = fake.image()
    sign(fake, digest, signer[0])
    verdict = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
    assert verdict is not None and verdict.verified, verdict


# item 2: referrers lists are bounded, validated, and junk cannot crowd out a signature


def _referrers_pages(fake: Fake, digest: str, pages: list[list[Any]]) -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        page = int(handler.path.partition("?p=")[2] or 0)
        body = orjson.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": pages[page]})
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_INDEX)
        if page + 1 < len(pages):
            handler.send_header(
                "Link", f'</v2/acme/app/referrers/{digest}?p={page + 1}>; rel="next"'
            )
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    fake.routes[f"/v2/acme/app/referrers/{digest}"] = answer


def test_referrers_keep_only_valid_candidates_up_to_the_cap(fake: Fake) -> None:
    digest = fake.image()
    bundle = {"artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}
    valid = [{**bundle, "digest": sha(b"%d" % i)} for i in range(MAX_REFERRERS + 10)]
    junk: list[Any] = [{}] * 50_000 + [{"digest": "v1"}, {"digest": "sha256:zz"}, 7]
    sbom = {"artifactType": "application/spdx+json", "digest": sha(b"sbom")}
    # junk and other artifacts first: they are neither kept nor counted
    _referrers_pages(fake, digest, [junk, [sbom] * 1000 + valid[:1], valid[1:], valid])
    client = RegistryClient(insecure=frozenset({fake.address}))
    _CLIENTS.append(client)
    tracemalloc.start()
    try:
        found = client.referrers(fake.address, "acme/app", digest, keep=may_be_bundle)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found is not None
    assert [d["digest"] for d in found.descriptors] == [d["digest"] for d in valid[:MAX_REFERRERS]]
    assert found.truncated
    assert len(fake.asked("/v2/acme/app/referrers/")) == 3  # paging stopped at the cap
    assert peak < 64 * 1024 * 1024


def test_a_referrer_digest_that_is_no_digest_is_never_fetched(fake: Fake, signer: Any) -> None:
    digest = fake.image()
    _referrers_pages(fake, digest, [[{"digest": "v1"}, {"digest": "latest", "artifactType": ""}]])
    verdict = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.UNSIGNED, verdict
    assert not fake.asked("/v2/acme/app/manifests/v1")
    assert not fake.asked("/v2/acme/app/manifests/latest")


def test_junk_sig_layers_do_not_crowd_out_bundles(fake: Fake, signer: Any) -> None:
    """Simple-signing layers and bundles have separate budgets: a `.sig` manifest full of
    junk layers no longer uses up the bundles' share (and is said to be cut short)."""
    digest = fake.image()
    sign(fake, digest, signer[0], junk_before=MAX_SIGNATURES + 5)  # the good layer is past the cap
    referrer = sha(b"referrer")
    _referrers_pages(fake, digest, [[{"digest": referrer}]])
    verdict = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.INVALID, verdict
    assert f"only the first {MAX_SIGNATURES} of {MAX_SIGNATURES + 6} .sig layers" in verdict.detail
    assert fake.asked(f"/v2/acme/app/manifests/{referrer}")  # the bundle budget was left whole


# item 8: a failing referrers API does not hide a valid .sig signature


@pytest.mark.parametrize("status", [500, 401, 403])
def test_a_failing_referrers_api_does_not_hide_a_valid_sig(
    fake: Fake, signer: Any, status: int
) -> None:
    digest = fake.image()
    sign(fake, digest, signer[0])
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else {}
    fake.routes[f"/v2/acme/app/referrers/{digest}"] = (status, headers, b"{}")
    check = verifier(signer[1], fake.address)
    verdict = check.verify(f"{fake.address}/acme/app@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.VERIFIED, verdict
    assert "release.pub (simple signing)" in verdict.detail
    assert "the referrers API failed" in verdict.detail
    # without the signature the failure is an error, never unsigned (a bundle may be there)
    fake.routes.pop(f"/v2/acme/app/manifests/sha256-{digest.removeprefix('sha256:')}.sig")
    check.client._tokens.clear()
    unsigned = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
    assert unsigned is not None and unsigned.status is SignatureStatus.ERROR, unsigned
    assert "the referrers API failed" in unsigned.detail


# items 3 and 4: bounded bodies (decompressed), one deadline per image


def _bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


@pytest.mark.parametrize("where", ["registry", "token service"])
def test_compressed_answers_are_bounded_as_they_decompress(
    fake: Fake, signer: Any, where: str
) -> None:
    digest = fake.image()
    bomb = (200, {"Content-Type": OCI_MANIFEST, "Content-Encoding": "gzip"}, _bomb(256 << 20))
    if where == "registry":
        fake.routes[f"/v2/acme/app/manifests/sha256-{digest.removeprefix('sha256:')}.sig"] = bomb
    else:
        fake.routes["/token"] = bomb
        fake.routes["*"] = (
            401,
            {"WWW-Authenticate": f'Bearer realm="http://{fake.address}/token"'},
            b"",
        )
    tracemalloc.start()
    try:
        verdict = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert verdict is not None and verdict.status is SignatureStatus.ERROR, verdict
    assert "exceeds 4194304 bytes" in verdict.detail
    assert peak < 32 * 1024 * 1024  # 4 MiB read at most, not 256 MiB inflated


def test_a_dribbling_registry_meets_one_deadline_per_image(fake: Fake, signer: Any) -> None:
    """Each read arrives within the 0.5 s timeout, but the image has 3 x 0.5 s in all."""
    digest = fake.image()
    stop = threading.Event()

    def dribble(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_MANIFEST)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            if stop.wait(0.1):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()

    fake.routes[f"/v2/acme/app/manifests/sha256-{digest.removeprefix('sha256:')}.sig"] = dribble
    started = time.monotonic()
    try:
        verdict = verifier(signer[1], fake.address, timeout=0.5).verify(
            f"{fake.address}/acme/app@{digest}"
        )
    finally:
        stop.set()
    elapsed = time.monotonic() - started
    assert verdict is not None and verdict.status is SignatureStatus.ERROR, verdict
    assert "registry too slow" in verdict.detail and "1.5 s" in verdict.detail
    assert elapsed < 3.0


def test_concurrent_verifications_of_one_image_share_one_lookup(fake: Fake, signer: Any) -> None:
    digest = fake.image()
    sign(fake, digest, signer[0])
    sig_path = f"/v2/acme/app/manifests/sha256-{digest.removeprefix('sha256:')}.sig"
    entered, release = threading.Event(), threading.Event()
    signed = fake.routes[sig_path]
    assert not callable(signed)

    def gated(handler: BaseHTTPRequestHandler) -> None:
        entered.set()
        release.wait(10)
        status, headers, body = signed
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    fake.routes[sig_path] = gated
    check = verifier(signer[1], fake.address)
    image = f"{fake.address}/acme/app@{digest}"
    verdicts: list[Any] = []
    first = threading.Thread(target=lambda: verdicts.append(check.verify(image)))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=lambda: verdicts.append(check.verify(image)))
    second.start()
    deadline = time.monotonic() + 10
    while check.cache_misses < 2 and time.monotonic() < deadline:  # the second is waiting
        time.sleep(0.01)
    release.set()
    first.join(10)
    second.join(10)
    assert len(verdicts) == 2 and all(v.verified for v in verdicts), verdicts
    assert fake.asked(sig_path) == [sig_path]  # asked once


# items 5 and 6: token realms and redirects


@pytest.mark.parametrize(
    "realm",
    [
        "https://2852039166/", "https://0xa9fea9fe/", "https://169.254.43518/",
        "https://127.1/", "https://localhost/", "https://100.100.100.200/",
        "https://[::ffff:169.254.169.254]/", "https://[fd00:ec2::254]/", "https://0.0.0.0/",
        "https://[fe80::1%25eth0]/", "https://100.64.0.1/", "https://224.0.0.1/",
        "http://2130706433:5000/",  # the registry's port, spelt as another host
        "https://127.0.0.1:6000/",  # an IP-literal registry's other ports are other services
    ],
)  # fmt: skip
def test_realms_at_internal_addresses_in_any_spelling_are_refused(realm: str) -> None:
    with pytest.raises(RegistryError, match="token realm"):
        check_realm(realm, "127.0.0.1:5000", plain_http=True)


def test_realms_on_the_registrys_own_host_are_allowed() -> None:
    check_realm("http://127.0.0.1:5000/token", "127.0.0.1:5000", plain_http=True)
    check_realm("http://localhost:6000/token", "localhost:5000", plain_http=True)
    check_realm("https://8.8.8.8/token", "registry.example", plain_http=False)


def test_a_realm_spelt_as_a_number_gets_no_credentials(fake: Fake, signer: Any) -> None:
    tokens = Fake()
    try:
        digest = fake.image()
        realm = f"http://{int.from_bytes(bytes([127, 0, 0, 1]))}:{tokens.port}/token"
        fake.routes["*"] = (401, {"WWW-Authenticate": f'Bearer realm="{realm}"'}, b"")
        secret = {fake.address: Credentials("robot", "S3CRET-PASS")}
        check = verifier(signer[1], fake.address, credentials=secret)
        verdict = check.verify(f"{fake.address}/acme/app@{digest}")
        assert verdict is not None and verdict.status is SignatureStatus.ERROR
        assert "loopback" in verdict.detail and "S3CRET" not in verdict.detail
        assert tokens.log == []
    finally:
        tokens.close()


def test_a_realm_that_redirects_inside_is_refused_at_the_hop(signer: Any) -> None:
    """The realm is on the registry's own host name (allowed); its redirect to a loopback IP
    is not, and the credentials never reach it."""
    registry, realm, inside = Fake("localhost"), Fake("localhost"), Fake()
    try:
        digest = registry.image()
        registry.routes["*"] = (
            401, {"WWW-Authenticate": f'Bearer realm="http://{realm.address}/token"'}, b"",
        )  # fmt: skip
        realm.routes["*"] = (302, {"Location": f"http://{inside.address}/token"}, b"")
        secret = {registry.address: Credentials("robot", "S3CRET-PASS")}
        check = verifier(signer[1], registry.address, credentials=secret)
        verdict = check.verify(f"{registry.address}/acme/app@{digest}")
        assert verdict is not None and verdict.status is SignatureStatus.ERROR
        assert f"token realm 'http://{inside.address}/token'" in verdict.detail
        assert realm.log and realm.log[0][1]["Authorization"].startswith("Basic ")
        assert inside.log == []
    finally:
        for server in (registry, realm, inside):
            server.close()


def test_registry_redirects_to_metadata_are_refused(fake: Fake, signer: Any) -> None:
    digest = fake.image()
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    fake.routes["*"] = (302, {"Location": metadata}, b"")
    verdict = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.ERROR
    assert "link-local or metadata address (169.254.169.254)" in verdict.detail


def test_a_presigned_url_never_reaches_a_verdict(fake: Fake, signer: Any) -> None:
    """Registries redirect blobs to storage URLs whose query is a credential: a refused or
    failing hop is named by scheme, host and path only."""
    digest = fake.image()
    signed = "http://169.254.169.254/bucket/blob?X-Amz-Signature=canary-s3cr3t&sig=canary2"
    fake.routes["*"] = (302, {"Location": signed}, b"")
    verdict = verifier(signer[1], fake.address).verify(f"{fake.address}/acme/app@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.ERROR
    assert "http://169.254.169.254/bucket/blob" in verdict.detail
    assert "canary" not in verdict.detail and "Signature" not in verdict.detail
    assert shown("https://u:pw@cdn.example/b?sig=x#f") == "https://cdn.example/b"


@pytest.mark.parametrize(
    ("url", "plain_http", "refused"),
    [
        ("http://registry.example/v2/", False, "only https"),  # https downgraded by a redirect
        ("http://registry.example/v2/", True, None),
        ("https://8.8.8.8/v2/", False, None),  # a CDN: public
        ("https://10.0.0.7/v2/", False, "private or loopback"),  # from a public registry
        ("https://[fd00:ec2::254]/", False, "metadata"),
        ("ftp://8.8.8.8/", True, "only https"),
    ],
)
def test_redirect_hops(url: str, plain_http: bool, refused: str | None) -> None:
    def hop() -> None:
        check_hop(httpx.URL(url), "8.8.4.4", plain_http=plain_http, realm=False, redirected=True)

    if refused is None:
        hop()
    else:
        with pytest.raises(RegistryError, match=refused):
            hop()


# item 7: malformed URLs from the registry are that image's error, never a crash


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((401, {"WWW-Authenticate": 'Bearer realm="http://0177.0.0.01/x"'}, b""),
         "token realm 'http://0177.0.0.01/x' is not a valid URL"),
        ((302, {"Location": "http://[zz/x"}, b""), "ConnectError"),
        ((302, {"Location": "http://0177.0.0.01/"}, b""), "Invalid URL in location header"),
    ],
    ids=["realm", "redirect", "redirect-invalid"],
)  # fmt: skip
def test_malformed_urls_are_errors_not_crashes(
    fake: Fake, signer: Any, answer: Answer, said: str
) -> None:
    digest = fake.image()
    fake.routes["*"] = answer
    image = f"{fake.address}/acme/app@{digest}"
    verdict = verifier(signer[1], fake.address).verify(image)
    assert verdict is not None and verdict.status is SignatureStatus.ERROR
    assert said in verdict.detail
    run = kubeward("verify", "--key", signer[1], "--plain-http", fake.address, image)
    assert run.code == 2, run.stderr
    assert run.stdout.startswith("error") and "internal error" not in run.stderr


def test_host_names_are_resolved_once_per_cache_period(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request is checked; the name is looked up once, not per request."""
    import socket

    from kubeward.signatures import registry

    calls: list[str] = []

    def lookup(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", 0))]

    monkeypatch.setattr(registry, "_resolved", {})
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    for _ in range(5):
        assert [str(a) for a in registry.addresses("registry.example")] == ["203.0.113.7"]
    assert calls == ["registry.example"]
