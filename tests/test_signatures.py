"""Image signatures against a real registry, signed by the real cosign, in both formats.

Every case the issue lists: valid signature (simple signing and bundle, ECDSA and Ed25519),
wrong key, unsigned, signature copied from another image, tag moved after signing, registry
down, malformed signature manifest; plus attestations posing as signatures, any-of/all-of
keys, the verdict cache, credentials and the CLI's exit codes.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import bcrypt
import httpx
import orjson
import pytest

from kubeward.model.signatures import SignatureStatus, SignatureVerdict
from kubeward.signatures.cosign import load_public_key
from kubeward.signatures.policy import Require, SignaturePolicy, SignatureRule, Unpinned
from kubeward.signatures.registry import Credentials, RegistryClient
from kubeward.signatures.verifier import ImageVerifier
from tests import registry
from tests.cli_helpers import kubeward
from tests.registry import Signing


@pytest.fixture(scope="module")
def keys(oci_registry: Signing) -> dict[str, tuple[Path, Path]]:
    return {
        "release": oci_registry.key_pair("release"),
        "other": oci_registry.key_pair("other"),
        "edkey": oci_registry.key_pair("edkey", "ed25519"),
    }


_CLIENTS: list[RegistryClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def verifier_for(
    signing: Signing, *public: Path, require: Require = Require.ANY, **options: object
) -> ImageVerifier:
    loaded = tuple(load_public_key(p.read_bytes(), p.name) for p in public)
    policy = SignaturePolicy(
        rules=(SignatureRule("test", (f"{signing.address}/**",), loaded, require),),
        plain_http=frozenset({signing.address}),
        **options,  # type: ignore[arg-type]
    )
    client = RegistryClient(timeout=5, insecure=policy.plain_http)
    _CLIENTS.append(client)
    return ImageVerifier(policy, client)


@pytest.mark.parametrize("bundle", [False, True], ids=["simple-signing", "bundle"])
@pytest.mark.parametrize("key_name", ["release", "edkey"], ids=["ecdsa-p256", "ed25519"])
def test_a_signed_digest_verifies(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]], bundle: bool, key_name: str
) -> None:
    repository = f"acme/{key_name}-{'bundle' if bundle else 'sig'}"
    digest = oci_registry.push(repository, "1.0")
    image = f"{oci_registry.address}/{repository}@{digest}"
    oci_registry.sign(image, keys[key_name][0], bundle=bundle)
    verdict = verifier_for(oci_registry, keys[key_name][1]).verify(image)
    assert verdict is not None
    assert verdict.status is SignatureStatus.VERIFIED, verdict.detail
    assert verdict.digest == digest
    form = "bundle" if bundle else "simple signing"
    assert f"{key_name}.pub ({form})" in verdict.detail
    # the other key did not sign it
    refused = verifier_for(oci_registry, keys["other"][1]).verify(image)
    assert refused is not None and refused.status is SignatureStatus.UNSIGNED


def test_unsigned_image(oci_registry: Signing, keys: dict[str, tuple[Path, Path]]) -> None:
    digest = oci_registry.push("acme/unsigned", "1.0")
    verdict = verifier_for(oci_registry, keys["release"][1]).verify(
        f"{oci_registry.address}/acme/unsigned@{digest}"
    )
    assert verdict is not None and verdict.status is SignatureStatus.UNSIGNED
    assert "requires a signature by one of release.pub" in verdict.detail


@pytest.mark.parametrize("bundle", [False, True], ids=["simple-signing", "bundle"])
def test_a_signature_copied_from_another_image_is_refused(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]], bundle: bool
) -> None:
    repository = f"acme/copied-{'bundle' if bundle else 'sig'}"
    signed = oci_registry.push(repository, "good")
    other = oci_registry.push(repository, "evil")
    base = f"{oci_registry.address}/{repository}"
    oci_registry.sign(f"{base}@{signed}", keys["release"][0], bundle=bundle)
    suffix = ".sig" if not bundle else ""
    # the attacker copies the valid signature object onto the other image's signature tag
    oci_registry.run(
        oci_registry.crane, "copy", "--insecure",
        f"{base}:sha256-{signed.removeprefix('sha256:')}{suffix}",
        f"{base}:sha256-{other.removeprefix('sha256:')}{suffix}",
    )  # fmt: skip
    verdict = verifier_for(oci_registry, keys["release"][1]).verify(f"{base}@{other}")
    assert verdict is not None
    assert verdict.status is SignatureStatus.INVALID, verdict.detail
    assert signed in verdict.detail or "does not refer to" in verdict.detail


def test_a_tag_moved_after_signing_is_not_verified(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]]
) -> None:
    base = f"{oci_registry.address}/acme/moving"
    first = oci_registry.push("acme/moving", "1.0")
    oci_registry.sign(f"{base}@{first}", keys["release"][0], bundle=True)
    verifier = verifier_for(oci_registry, keys["release"][1])
    before = verifier.verify(f"{base}:1.0", resolve_tags=True)
    assert before is not None and before.verified and before.digest == first
    second = oci_registry.push("acme/moving", "1.0")  # someone pushes over the tag
    after = verifier.verify(f"{base}:1.0", resolve_tags=True)
    assert after is not None and after.status is SignatureStatus.UNSIGNED
    assert after.digest == second  # the cache holds digests' verdicts, never a tag's digest
    pinned = verifier.verify(f"{base}:1.0@{first}")
    assert pinned is not None and pinned.verified  # tag@digest: the digest is what runs


def test_a_tag_is_unpinned_unless_resolution_is_asked(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]]
) -> None:
    oci_registry.push("acme/tagged", "2.0")
    image = f"{oci_registry.address}/acme/tagged:2.0"
    verdict = verifier_for(oci_registry, keys["release"][1]).verify(image)
    assert verdict is not None and verdict.status is SignatureStatus.UNPINNED
    deny = verifier_for(oci_registry, keys["release"][1], unpinned=Unpinned.DENY)
    denied = deny.verify(image, resolve_tags=True)
    assert denied is not None and denied.status is SignatureStatus.UNPINNED


def test_an_attestation_is_not_a_signature(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]]
) -> None:
    base = f"{oci_registry.address}/acme/attested"
    digest = oci_registry.push("acme/attested", "1.0")
    oci_registry.attest(f"{base}@{digest}", keys["release"][0])
    verdict = verifier_for(oci_registry, keys["release"][1]).verify(f"{base}@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.INVALID
    assert "attestation" in verdict.detail


def test_a_malformed_signature_manifest_is_invalid_not_a_crash(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]]
) -> None:
    base = f"{oci_registry.address}/acme/malformed"
    digest = oci_registry.push("acme/malformed", "1.0")
    oci_registry.sign(f"{base}@{digest}", keys["release"][0], bundle=False)
    sig_tag = f"{base}:sha256-{digest.removeprefix('sha256:')}.sig"
    manifest = orjson.loads(oci_registry.run(oci_registry.crane, "manifest", "--insecure", sig_tag))
    manifest["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"] = "%%not-base64"
    # crane cannot put a hand-written manifest: the distribution API can
    answer = httpx.put(
        f"http://{oci_registry.address}/v2/acme/malformed/manifests/"
        f"sha256-{digest.removeprefix('sha256:')}.sig",
        content=orjson.dumps(manifest),
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert answer.status_code == 201, answer.text
    verdict = verifier_for(oci_registry, keys["release"][1]).verify(f"{base}@{digest}")
    assert verdict is not None and verdict.status is SignatureStatus.INVALID
    assert "not base64" in verdict.detail


def test_all_of_needs_every_key(oci_registry: Signing, keys: dict[str, tuple[Path, Path]]) -> None:
    base = f"{oci_registry.address}/acme/two-keys"
    digest = oci_registry.push("acme/two-keys", "1.0")
    image = f"{base}@{digest}"
    both = (keys["release"][1], keys["other"][1])
    oci_registry.sign(image, keys["release"][0], bundle=True)
    one = verifier_for(oci_registry, *both, require=Require.ALL).verify(image)
    assert one is not None and one.status is SignatureStatus.UNSIGNED
    assert "signed only by release.pub" in one.detail
    assert verifier_for(oci_registry, *both).verify(image).verified  # type: ignore[union-attr]
    oci_registry.sign(image, keys["other"][0], bundle=False)  # the second key, other format
    two = verifier_for(oci_registry, *both, require=Require.ALL).verify(image)
    assert two is not None
    assert two.verified, two.detail


def test_verdicts_are_cached_by_digest(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]]
) -> None:
    base = f"{oci_registry.address}/acme/cached"
    digest = oci_registry.push("acme/cached", "1.0")
    oci_registry.sign(f"{base}@{digest}", keys["release"][0], bundle=True)
    now = [0.0]
    verifier = verifier_for(oci_registry, keys["release"][1], cache_ttl=60.0)
    verifier._clock = lambda: now[0]
    for _ in range(3):
        assert verifier.verify(f"{base}@{digest}").verified  # type: ignore[union-attr]
    assert (verifier.cache_misses, verifier.cache_hits) == (1, 2)
    now[0] = 61.0  # expired: asked again
    assert verifier.verify(f"{base}@{digest}").verified  # type: ignore[union-attr]
    assert verifier.cache_misses == 2


def test_registry_down_is_an_error_never_a_pass(keys: dict[str, tuple[Path, Path]]) -> None:
    from tests.testcluster import free_port

    address = f"127.0.0.1:{free_port()}"  # nothing listens here
    key = load_public_key(keys["release"][1].read_bytes(), "release.pub")
    policy = SignaturePolicy(
        rules=(SignatureRule("test", ("**",), (key,)),), plain_http=frozenset({address})
    )
    client = RegistryClient(timeout=2, insecure=policy.plain_http)
    _CLIENTS.append(client)
    verifier = ImageVerifier(policy, client)
    image = f"{address}/acme/app@sha256:{'a' * 64}"
    verdict = verifier.verify(image)
    assert verdict is not None and verdict.status is SignatureStatus.ERROR
    run = kubeward("verify", "--key", keys["release"][1], "--plain-http", address, image)
    assert run.code == 2, run.stderr
    assert "error" in run.stdout


def test_cli_exit_codes_and_json(oci_registry: Signing, keys: dict[str, tuple[Path, Path]]) -> None:
    base = f"{oci_registry.address}/acme/cli"
    signed = oci_registry.push("acme/cli", "signed")
    oci_registry.push("acme/cli", "unsigned")
    oci_registry.sign(f"{base}@{signed}", keys["release"][0], bundle=False)
    common = ("--key", str(keys["release"][1]), "--plain-http", oci_registry.address)
    good = kubeward("verify", *common, f"{base}:signed")
    assert good.code == 0, good.stdout + good.stderr
    assert good.stdout.startswith("verified") and signed in good.stdout
    bad = kubeward("verify", *common, "-f", "json", f"{base}:signed", f"{base}:unsigned")
    assert bad.code == 1
    rows = orjson.loads(bad.stdout)
    assert [r["status"] for r in rows] == ["verified", "unsigned"]
    usage = kubeward("verify", f"{base}:signed", cwd=oci_registry.directory)
    assert usage.code == 2 and "--key" in usage.stderr


def test_credentials_from_a_docker_config(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    """A registry that wants basic credentials: read from a .dockerconfigjson file."""
    htpasswd = tmp_path / "htpasswd"
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"puller:{hashed}\n")
    with registry.running(tmp_path / "private", htpasswd=htpasswd) as address:
        auth = base64.b64encode(b"puller:s3cret").decode()
        config = tmp_path / "config.json"
        config.write_text(orjson.dumps({"auths": {address: {"auth": auth}}}).decode())
        layer_image = f"{address}/acme/private:1.0"
        tools = _authenticated(oci_registry, address, tmp_path)
        digest = tools.push("acme/private", "1.0")
        tools.sign(f"{address}/acme/private@{digest}", keys["release"][0], bundle=True)
        common = ("--key", str(keys["release"][1]), "--plain-http", address)
        refused = kubeward("verify", *common, layer_image)
        assert refused.code == 2 and "credentials" in refused.stdout
        allowed = kubeward("verify", *common, "--credentials", str(config), layer_image)
        assert allowed.code == 0, allowed.stdout + allowed.stderr
        assert "s3cret" not in allowed.stdout + allowed.stderr + refused.stdout + refused.stderr


def test_bearer_tokens_from_the_registrys_token_service(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    """Distribution's token auth: a 401 with a Bearer challenge, a token fetched from the realm
    with the configured credentials, then reused for every request of the repository."""
    with (
        registry.TokenService(tmp_path / "tokens", "puller", "t0ken-pass") as tokens,
        registry.running(tmp_path / "bearer", token=tokens) as address,
    ):
        auth = base64.b64encode(b"puller:t0ken-pass").decode()
        config = tmp_path / "config.json"
        config.write_text(orjson.dumps({"auths": {address: {"auth": auth}}}).decode())
        image = f"{address}/acme/tokened:1.0"
        tools = _authenticated(oci_registry, address, tmp_path)
        digest = tools.push("acme/tokened", "1.0")
        tools.sign(f"{address}/acme/tokened@{digest}", keys["release"][0], bundle=True)
        tokens.issued.clear()
        key = load_public_key(keys["release"][1].read_bytes(), "release.pub")
        policy = SignaturePolicy(
            rules=(SignatureRule("test", ("**",), (key,)),), plain_http=frozenset({address})
        )
        anonymous = RegistryClient(insecure=policy.plain_http)
        _CLIENTS.append(anonymous)
        refused = ImageVerifier(policy, anonymous).verify(image, resolve_tags=True)
        assert refused is not None and refused.status is SignatureStatus.ERROR
        assert "token service refused" in refused.detail
        client = RegistryClient(
            insecure=policy.plain_http,
            credentials={address: Credentials("puller", "t0ken-pass")},
        )
        _CLIENTS.append(client)
        verdict = ImageVerifier(policy, client).verify(image, resolve_tags=True)
        assert verdict is not None
        assert verdict.verified, verdict.detail
        assert tokens.issued == ["repository:acme/tokened:pull"]  # one token, reused
        assert "t0ken-pass" not in verdict.detail + refused.detail


@pytest.mark.parametrize(
    ("realm", "allowed"),
    [
        ("https://auth.example.com/token", True),
        ("http://auth.example.com/token", False),  # credentials in clear to a TLS registry
        ("https://169.254.169.254/latest/meta-data", False),  # the cloud metadata service
        ("https://10.0.0.7/token", False),
        ("https://[::1]/token", False),
        ("https://registry.example:5000/token", True),  # the registry itself
    ],
)
def test_token_realms_cannot_point_the_webhook_into_private_networks(
    realm: str, allowed: bool
) -> None:
    from kubeward.signatures.registry import RegistryError, check_realm

    if allowed:
        check_realm(realm, "registry.example:5000", plain_http=False)
    else:
        with pytest.raises(RegistryError):
            check_realm(realm, "registry.example:5000", plain_http=False)


def _authenticated(signing: Signing, address: str, config_dir: Path) -> Signing:
    """crane and cosign for another registry, logged in by the Docker config in ``config_dir``."""
    return replace(signing, address=address, env={"DOCKER_CONFIG": str(config_dir)})


def test_scan_verify_images_reports_i007_at_the_image_line(
    oci_registry: Signing, keys: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    base = f"{oci_registry.address}/acme/scanned"
    signed = oci_registry.push("acme/scanned", "signed")
    oci_registry.push("acme/scanned", "unsigned")
    oci_registry.sign(f"{base}@{signed}", keys["release"][0], bundle=True)
    (tmp_path / "release.pub").write_bytes(keys["release"][1].read_bytes())
    (tmp_path / "kubeward.yaml").write_text(
        "imageSignatures:\n"
        "  rules:\n"
        "    - name: acme\n"
        f'      images: ["{oci_registry.address}/acme/**"]\n'
        "      keys: [release.pub]\n"
        f'  plainHTTP: ["{oci_registry.address}"]\n'
    )
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
        "  containers:\n"
        f"    - name: good\n      image: {base}:signed\n"
        f"    - name: bad\n      image: {base}:unsigned\n"
        "    - name: elsewhere\n      image: docker.io/library/busybox:1.36\n"
    )
    run = kubeward("scan", "--verify-images", "--select", "I007", "-f", "json", "pod.yaml",
                   cwd=tmp_path)  # fmt: skip
    assert run.code == 1, run.stderr
    findings = orjson.loads(run.stdout)["findings"]
    assert [(f["ruleId"], f["line"]) for f in findings] == [("I007", 9)]
    assert "unsigned" in findings[0]["message"]
    skipped = kubeward("scan", "--select", "I007", "-f", "json", "pod.yaml", cwd=tmp_path)
    assert skipped.code == 0  # off unless asked: a CI scan does not reach registries by surprise
    assert orjson.loads(skipped.stdout)["findings"] == []


def test_signature_config_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "kubeward.yaml").write_text(
        "imageSignatures:\n  rules:\n    - name: acme\n      images: [registry.example/**]\n"
        "      keys: [missing.pub]\n"
    )
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    run = kubeward("scan", "pod.yaml", cwd=tmp_path)
    assert run.code == 2
    assert "kubeward.yaml:5" in run.stderr and "missing.pub" in run.stderr
    (tmp_path / "bad.pub").write_text("not a key")
    (tmp_path / "kubeward.yaml").write_text(
        "imageSignatures:\n  rules:\n    - name: acme\n      images: ['registry.example/app:1']\n"
        "      keys: [bad.pub]\n"
    )
    run = kubeward("scan", "pod.yaml", cwd=tmp_path)
    assert run.code == 2 and "kubeward.yaml:4" in run.stderr and "leave out the tag" in run.stderr


# The OCI 1.1 referrers API, against a registry that serves it (tools/oci-registry): cosign
# stores its bundles there without a referrers tag, so only the API can find them.


@pytest.fixture(scope="module")
def api_keys(referrers_registry: Signing) -> dict[str, tuple[Path, Path]]:
    return {
        "release": referrers_registry.key_pair("release"),
        "other": referrers_registry.key_pair("other"),
    }


def _referrers(signing: Signing, repository: str, digest: str) -> list[dict[str, object]]:
    answer = httpx.get(f"http://{signing.address}/v2/{repository}/referrers/{digest}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.oci.image.index.v1+json"
    manifests: list[dict[str, object]] = answer.json()["manifests"]
    return manifests


def _verify_through_the_api(
    signing: Signing, repository: str, digest: str, public: Path
) -> SignatureVerdict:
    """kubeward's verdict, after checking from the registry's request log that kubeward asked
    the referrers API (answered 200) and never the referrers tag, and that no such tag exists."""
    tags = httpx.get(f"http://{signing.address}/v2/{repository}/tags/list").json()["tags"]
    fallback_tag = f"sha256-{digest.removeprefix('sha256:')}"
    assert fallback_tag not in tags  # cosign used the API too
    before = len(signing.requests())
    verdict = verifier_for(signing, public).verify(f"{signing.address}/{repository}@{digest}")
    assert verdict is not None
    asked = signing.requests()[before:]
    assert ("GET", f"/v2/{repository}/referrers/{digest}", 200) in asked, asked
    assert not [r for r in asked if r[1] == f"/v2/{repository}/manifests/{fallback_tag}"]
    return verdict


def test_referrers_api_a_bundle_signature_verifies(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    repository = "api/signed"
    digest = referrers_registry.push(repository, "1.0")
    referrers_registry.sign(
        f"{referrers_registry.address}/{repository}@{digest}", api_keys["release"][0], bundle=True
    )
    listed = _referrers(referrers_registry, repository, digest)
    assert len(listed) == 1
    # go-containerregistry's registry lists the config's media type, not the manifest's
    # artifactType: kubeward must not rely on the descriptor's artifactType alone
    assert listed[0]["artifactType"] == "application/vnd.oci.empty.v1+json"
    verdict = _verify_through_the_api(
        referrers_registry, repository, digest, api_keys["release"][1]
    )
    assert verdict.status is SignatureStatus.VERIFIED, verdict.detail
    assert verdict.digest == digest and "release.pub (bundle)" in verdict.detail


def test_referrers_api_wrong_key(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    repository = "api/wrong-key"
    digest = referrers_registry.push(repository, "1.0")
    referrers_registry.sign(
        f"{referrers_registry.address}/{repository}@{digest}", api_keys["other"][0], bundle=True
    )
    verdict = _verify_through_the_api(
        referrers_registry, repository, digest, api_keys["release"][1]
    )
    assert verdict.status is SignatureStatus.UNSIGNED, verdict.detail
    assert "requires a signature by one of release.pub" in verdict.detail


def test_referrers_api_unsigned(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    repository = "api/unsigned"
    digest = referrers_registry.push(repository, "1.0")
    assert _referrers(referrers_registry, repository, digest) == []
    verdict = _verify_through_the_api(
        referrers_registry, repository, digest, api_keys["release"][1]
    )
    assert verdict.status is SignatureStatus.UNSIGNED, verdict.detail


def test_referrers_api_a_signature_copied_from_another_image_is_refused(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    """With the API a referrer is listed by its ``subject``: the attacker re-points a valid
    bundle manifest's subject at the other image (a new manifest, the same signed bundle)."""
    repository = "api/copied"
    signed = referrers_registry.push(repository, "good")
    other = referrers_registry.push(repository, "evil")
    referrers_registry.sign(
        f"{referrers_registry.address}/{repository}@{signed}", api_keys["release"][0], bundle=True
    )
    (original,) = _referrers(referrers_registry, repository, signed)
    manifest = orjson.loads(
        referrers_registry.run(
            referrers_registry.crane, "manifest", "--insecure",
            f"{referrers_registry.address}/{repository}@{original['digest']}",
        )
    )  # fmt: skip
    subject = httpx.head(
        f"http://{referrers_registry.address}/v2/{repository}/manifests/{other}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    manifest["subject"] = {
        "mediaType": subject.headers["content-type"],
        "digest": other,
        "size": int(subject.headers["content-length"]),
    }
    copied = referrers_registry.put_manifest(repository, "copy", manifest)
    assert [d["digest"] for d in _referrers(referrers_registry, repository, other)] == [copied]
    verdict = _verify_through_the_api(referrers_registry, repository, other, api_keys["release"][1])
    assert verdict.status is SignatureStatus.INVALID, verdict.detail
    assert f"the statement is about {signed.removeprefix('sha256:')}" in verdict.detail


def test_referrers_api_an_attestation_is_not_a_signature(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    repository = "api/attested"
    digest = referrers_registry.push(repository, "1.0")
    referrers_registry.attest(
        f"{referrers_registry.address}/{repository}@{digest}", api_keys["release"][0]
    )
    verdict = _verify_through_the_api(
        referrers_registry, repository, digest, api_keys["release"][1]
    )
    assert verdict.status is SignatureStatus.INVALID, verdict.detail
    assert "attestation" in verdict.detail


def test_referrers_api_other_artifacts_are_ignored(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    """An SBOM attached as an OCI 1.1 artifact is listed like a bundle by this registry (the
    config's media type): kubeward reads its manifest, sees no bundle and passes over it, so it
    neither hides the signature nor makes an unsigned image ``invalid``."""
    repository = "api/sbom"
    digest = referrers_registry.push(repository, "1.0")
    image = httpx.head(
        f"http://{referrers_registry.address}/v2/{repository}/manifests/{digest}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    empty = referrers_registry.put_blob(repository, b"{}")
    sbom = referrers_registry.put_blob(repository, b'{"spdxVersion": "SPDX-2.3"}')
    referrers_registry.put_manifest(repository, "sbom", {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": "application/spdx+json", **sbom}],
        "subject": {
            "mediaType": image.headers["content-type"],
            "digest": digest,
            "size": int(image.headers["content-length"]),
        },
    })  # fmt: skip
    alone = _verify_through_the_api(referrers_registry, repository, digest, api_keys["release"][1])
    assert alone.status is SignatureStatus.UNSIGNED, alone.detail
    referrers_registry.sign(
        f"{referrers_registry.address}/{repository}@{digest}", api_keys["release"][0], bundle=True
    )
    assert len(_referrers(referrers_registry, repository, digest)) == 2
    both = _verify_through_the_api(referrers_registry, repository, digest, api_keys["release"][1])
    assert both.status is SignatureStatus.VERIFIED, both.detail


def test_referrers_api_pages_are_followed(
    referrers_registry: Signing, api_keys: dict[str, tuple[Path, Path]]
) -> None:
    """The spec lets a registry page the referrers list (``Link: <…>; rel="next"``). This
    registry does not, so a front for it does: one descriptor per page, the signature last."""
    repository = "api/paged"
    digest = referrers_registry.push(repository, "1.0")
    image = f"{referrers_registry.address}/{repository}@{digest}"
    referrers_registry.attest(image, api_keys["release"][0])
    referrers_registry.sign(image, api_keys["release"][0], bundle=True)
    upstream = f"http://{referrers_registry.address}"

    def is_signature(descriptor: dict[str, object]) -> bool:
        annotations = descriptor.get("annotations")
        return isinstance(annotations, dict) and annotations.get(
            "dev.sigstore.bundle.predicateType"
        ) == "https://sigstore.dev/cosign/sign/v1"  # fmt: skip

    signing_last = sorted(_referrers(referrers_registry, repository, digest), key=is_signature)
    pages: list[str] = []

    class Front(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "/referrers/" not in self.path:
                answer = httpx.get(upstream + self.path, headers={"Accept": self.headers["Accept"]})
                self._send(answer.status_code, answer.headers["content-type"], answer.content)
                return
            page = int(parse_qs(urlparse(self.path).query).get("page", ["0"])[0])
            pages.append(self.path)
            body = orjson.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": signing_last[page : page + 1],
            })  # fmt: skip
            link = f'<{urlparse(self.path).path}?page={page + 1}>; rel="next"'
            more = page + 1 < len(signing_last)
            self._send(200, "application/vnd.oci.image.index.v1+json", body, link if more else "")

        def _send(self, status: int, kind: str, body: bytes, link: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    front = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    threading.Thread(target=front.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{front.server_address[1]}"
        key = load_public_key(api_keys["release"][1].read_bytes(), "release.pub")
        policy = SignaturePolicy(
            rules=(SignatureRule("test", ("**",), (key,)),), plain_http=frozenset({address})
        )
        client = RegistryClient(timeout=5, insecure=policy.plain_http)
        _CLIENTS.append(client)
        verdict = ImageVerifier(policy, client).verify(f"{address}/{repository}@{digest}")
    finally:
        front.shutdown()
        front.server_close()
    assert verdict is not None and verdict.status is SignatureStatus.VERIFIED, verdict
    assert len(pages) == 2


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("", None),
        ('</v2/a/b/referrers/sha256:1?last=x>; rel="next"', "/v2/a/b/referrers/sha256:1?last=x"),
        ("<https://r.example/v2/a/b/referrers/sha256:1?n=2>; rel=next", "same host"),
        ('<https://evil.example/v2/a/b/referrers/sha256:1>; rel="next"', "refused"),
        ('</v2/other/referrers/sha256:1>; rel="next"', "refused"),
        ('</token?scope=x>; rel="next"', "refused"),
        ('</v2/a/b/referrers/sha256:1?last=x>; rel="prev"', None),
    ],
)
def test_referrers_page_links_stay_on_the_registry(link: str, expected: str | None) -> None:
    from kubeward.signatures.registry import RegistryError, next_page

    current = "https://r.example/v2/a/b/referrers/sha256:1"
    if expected == "refused":
        with pytest.raises(RegistryError):
            next_page(current, link, "a/b")
    elif expected is None:
        assert next_page(current, link, "a/b") is None
    elif expected == "same host":
        assert next_page(current, link, "a/b") == "https://r.example/v2/a/b/referrers/sha256:1?n=2"
    else:
        assert next_page(current, link, "a/b") == "https://r.example" + expected
