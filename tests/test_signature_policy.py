"""Signature policy patterns and cosign object checks, on pure values (no registry)."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.rules._common.images import parse_image
from kubeward.signatures.cosign import (
    SIGN_PREDICATE,
    SignatureFormatError,
    SimpleSigningLayer,
    UnusableKey,
    bundle_signer,
    load_public_key,
    pre_authentication_encoding,
    simple_signing_signer,
)
from kubeward.signatures.policy import Require, SignatureRule, check_image_pattern

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


@pytest.mark.parametrize(
    ("pattern", "image", "covered"),
    [
        ("ghcr.io/acme/*", "ghcr.io/acme/api:1.0", True),
        ("ghcr.io/acme/*", "ghcr.io/acme/team/api:1.0", False),  # * stays in one segment
        ("ghcr.io/acme/**", "ghcr.io/acme/team/api:1.0", True),
        ("ghcr.io/acme/*", "ghcr.io/acme-evil/api:1.0", False),
        ("ghcr.io/acme/api", f"ghcr.io/acme/api@{DIGEST}", True),
        ("nginx", "nginx:1.27", True),  # docker.io/library/nginx
        ("nginx", "docker.io/library/nginx", True),
        ("acme/*", "docker.io/acme/api", True),
        ("index.docker.io/acme/*", "acme/api:2", True),
        ("**", "localhost:5000/x/y/z", True),
        ("registry.example:5000/app", "registry.example/app", False),
        # HTTPS's default port names the same registry, on either side (containerd pulls
        # registry.example:443/acme/app from registry.example)
        ("registry.example/acme/**", "registry.example:443/acme/app:evil", True),
        ("registry.example:443/acme/**", "registry.example/acme/app:1", True),
        ("*.example/acme/**", "Registry.Example:443/acme/app:1", True),
        ("registry.example/acme/**", "registry.example:4430/acme/app:1", False),
        # Docker Hub's aliases, with or without the port
        ("nginx", "index.docker.io:443/nginx:1", True),
        ("nginx", "registry-1.docker.io:443/library/nginx", True),
        ("docker.io/nginx", "nginx", True),
        ("docker.io:443/acme/*", "acme/api", True),
    ],
)
def test_patterns_match_normalised_names(pattern: str, image: str, covered: bool) -> None:
    key = load_public_key(_pem(ec.generate_private_key(ec.SECP256R1()).public_key()), "k.pub")
    rule = SignatureRule("r", (check_image_pattern(pattern),), (key,))
    assert rule.covers(parse_image(image)) is covered


@pytest.mark.parametrize("bad", ["", "https://ghcr.io/acme", "ghcr.io/acme/api:1.0", "a b",
                                 f"ghcr.io/x@{DIGEST}"])  # fmt: skip
def test_patterns_that_cannot_match_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_image_pattern(bad)


def test_any_and_all() -> None:
    keys = tuple(
        load_public_key(_pem(ec.generate_private_key(ec.SECP256R1()).public_key()), name)
        for name in ("a", "b")
    )
    assert SignatureRule("r", ("**",), keys).satisfied_by(frozenset({"b"}))
    assert not SignatureRule("r", ("**",), keys, Require.ALL).satisfied_by(frozenset({"b"}))
    assert SignatureRule("r", ("**",), keys, Require.ALL).satisfied_by(frozenset({"a", "b"}))


def test_weak_or_foreign_keys_are_refused() -> None:
    with pytest.raises(UnusableKey, match="too weak"):
        load_public_key(_pem(rsa.generate_private_key(65537, 1024).public_key()), "rsa.pub")  # noqa: S505 - the point
    with pytest.raises(UnusableKey, match="not a PEM"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", "x")
    with pytest.raises(UnusableKey, match="secp256k1"):
        load_public_key(_pem(ec.generate_private_key(ec.SECP256K1()).public_key()), "k1")


def _payload(digest: str) -> bytes:
    return json.dumps({
        "critical": {"identity": {"docker-reference": "r/x"},
                     "image": {"docker-manifest-digest": digest},
                     "type": "cosign container image signature"},
        "optional": None,
    }).encode()  # fmt: skip


@pytest.mark.parametrize("algorithm", ["ecdsa", "ed25519", "rsa"])
def test_simple_signing_binds_the_digest(algorithm: str) -> None:
    private, sign = _signer(algorithm)
    key = load_public_key(_pem(private.public_key()), "k.pub")
    payload = _payload(DIGEST)
    layer = SimpleSigningLayer("sha256:x", base64.b64encode(sign(payload)).decode())
    assert simple_signing_signer(payload, layer, DIGEST, (key,)) == [key]
    with pytest.raises(SignatureFormatError, match="is for"):
        simple_signing_signer(payload, layer, OTHER, (key,))  # copied onto another image
    tampered = payload.replace(b"r/x", b"r/y")
    assert simple_signing_signer(tampered, layer, DIGEST, (key,)) == []


def test_bundles_bind_subject_and_predicate() -> None:
    private, sign = _signer("ecdsa")
    key = load_public_key(_pem(private.public_key()), "k.pub")

    def bundle(digest: str, predicate: str) -> bytes:
        statement = json.dumps({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "r/x", "digest": {"sha256": digest.removeprefix("sha256:")}}],
            "predicateType": predicate, "predicate": {},
        }).encode()  # fmt: skip
        signature = sign(pre_authentication_encoding("application/vnd.in-toto+json", statement))
        return json.dumps({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": ""}},
            "dsseEnvelope": {"payload": base64.b64encode(statement).decode(),
                             "payloadType": "application/vnd.in-toto+json",
                             "signatures": [{"sig": base64.b64encode(signature).decode()}]},
        }).encode()  # fmt: skip

    assert bundle_signer(bundle(DIGEST, SIGN_PREDICATE), DIGEST, (key,)) == [key]
    with pytest.raises(SignatureFormatError, match="about"):
        bundle_signer(bundle(OTHER, SIGN_PREDICATE), DIGEST, (key,))
    with pytest.raises(SignatureFormatError, match="attestation"):
        bundle_signer(bundle(DIGEST, "https://slsa.dev/provenance/v1"), DIGEST, (key,))
    with pytest.raises(SignatureFormatError):
        bundle_signer(b"[]", DIGEST, (key,))


def _signer(algorithm: str):  # type: ignore[no-untyped-def]
    if algorithm == "ecdsa":
        p = ec.generate_private_key(ec.SECP256R1())
        return p, lambda m: p.sign(m, ec.ECDSA(hashes.SHA256()))
    if algorithm == "ed25519":
        e = ed25519.Ed25519PrivateKey.generate()
        return e, e.sign  # pure Ed25519, as cosign before Ed25519ph
    from cryptography.hazmat.primitives.asymmetric import padding

    r = rsa.generate_private_key(65537, 2048)
    return r, lambda m: r.sign(m, padding.PKCS1v15(), hashes.SHA256())


def _pem(public: object) -> bytes:
    return public.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@given(
    st.binary(max_size=512)
    | st.from_regex(r'\{"mediaType": ?".{0,40}", ?"dsseEnvelope": ?.{0,80}\}')
)
@settings(max_examples=100, deadline=None)
def test_any_bundle_bytes_give_a_verdict_or_a_format_error(data: bytes | str) -> None:
    """Whatever a registry serves, the checks answer or raise SignatureFormatError."""
    raw = data.encode() if isinstance(data, str) else data
    with contextlib.suppress(SignatureFormatError):
        assert bundle_signer(raw, DIGEST, (_KEY,)) == []


@given(st.dictionaries(st.text(max_size=10), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10), max_size=5))  # fmt: skip
@settings(max_examples=100, deadline=None)
def test_any_signature_manifest_gives_layers_or_a_format_error(manifest: dict) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(SignatureFormatError):
        SimpleSigningLayer.all_in(manifest)


_KEY = load_public_key(_pem(ec.generate_private_key(ec.SECP256R1()).public_key()), "k.pub")


def test_docker_config_hosts_are_normalised_like_image_names(tmp_path: Path) -> None:
    from kubeward.signatures.registry import read_docker_config

    auth = base64.b64encode(b"puller:pw").decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {
        "https://Registry.Example:443/v1/": {"auth": auth},
        "https://index.docker.io/v1/": {"auth": auth},
    }}))  # fmt: skip
    assert sorted(read_docker_config(config)) == ["docker.io", "registry.example"]
