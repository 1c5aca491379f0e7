"""Checking cosign signature objects against public keys (no I/O: bytes in, verdict out).

Two formats, both written by cosign with ``--key``:

* **Simple signing** (cosign 1 and 2, ``--new-bundle-format=false`` in 3): a manifest at the tag
  ``sha256-<hex>.sig`` whose layers are JSON payloads naming the image digest
  (``critical.image.docker-manifest-digest``), each signed in the annotation
  ``dev.cosignproject.cosign/signature`` (base64).
* **Sigstore bundle** (cosign 3's default): an OCI 1.1 artifact whose ``subject`` is the image
  and whose one layer is a bundle; the bundle's DSSE envelope carries an in-toto statement whose
  subject digest is the image digest, signed over DSSE's pre-authentication encoding.

Every digest is recomputed here (a registry's ``Docker-Content-Digest`` is not trusted), the
signed payload must name the digest being admitted (a signature copied from another image does
not count), and a bundle's predicate type must be cosign's signing predicate (an attestation is
not a signature). Source: sigstore/cosign specs/SIGNATURE_SPEC.md and BUNDLE_SPEC.md, via
../shared/notes/admission.md §6.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from Crypto.Hash import SHA512
from Crypto.Signature import eddsa
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIMPLE_SIGNING_TYPE = "cosign container image signature"
BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"
BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
IN_TOTO_STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")


class SignatureFormatError(ValueError):
    """A signature object is malformed (not merely signed by someone else)."""


class UnusableKey(ValueError):
    """A public key cannot be used (not PEM, unsupported algorithm)."""


@dataclass(frozen=True)
class PublicKey:
    """A verification key and where it came from (shown in messages, never its bytes)."""

    name: str
    key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

    def verifies(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's over ``message`` (cosign's default hash: SHA-256)."""
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            elif isinstance(self.key, ed25519.Ed25519PublicKey):
                return self._verifies_ed25519(signature, message)
            else:
                self.key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _verifies_ed25519(self, signature: bytes, message: bytes) -> bool:
        """Ed25519ph (RFC 8032 HashEdDSA over SHA-512), cosign's default since it began
        uploading Ed25519 signatures to Rekor; pure Ed25519 from earlier versions."""
        assert isinstance(self.key, ed25519.Ed25519PublicKey)  # noqa: S101 - caller checked
        try:
            self.key.verify(signature, message)
            return True
        except InvalidSignature:
            pass
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        verifier = eddsa.new(eddsa.import_public_key(raw), "rfc8032")
        try:
            verifier.verify(SHA512.new(message), signature)
        except ValueError:
            return False
        return True


def load_public_key(pem: bytes, name: str) -> PublicKey:
    """A PEM public key (``cosign.pub``): ECDSA P-256/P-384, Ed25519 or RSA ≥ 2048 bits."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UnusableKey(f"{name}: not a PEM public key ({exc})") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1"):
            raise UnusableKey(f"{name}: ECDSA curve {key.curve.name} is not supported")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise UnusableKey(f"{name}: an RSA key of {key.key_size} bits is too weak")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise UnusableKey(f"{name}: {type(key).__name__} keys are not supported")
    return PublicKey(name, key)


def sha256_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def check_content(content: bytes, expected: str, what: str) -> None:
    """Raise unless ``content`` hashes to ``expected`` (only sha256 digests are accepted)."""
    if not expected.startswith("sha256:"):
        raise SignatureFormatError(f"{what} has digest {expected!r}; only sha256 is supported")
    actual = sha256_digest(content)
    if actual != expected:
        raise SignatureFormatError(f"{what} hashes to {actual}, not {expected}")


def json_object(content: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise SignatureFormatError(f"{what} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SignatureFormatError(f"{what} is not a JSON object")
    return value


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise SignatureFormatError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureFormatError(f"{what} is not base64") from None


@dataclass(frozen=True)
class SimpleSigningLayer:
    """One layer of a ``.sig`` manifest: the payload's digest and the signature annotation."""

    payload_digest: str
    signature_b64: Any

    @classmethod
    def all_in(cls, manifest: Mapping[str, Any]) -> list[SimpleSigningLayer]:
        layers = manifest.get("layers")
        if not isinstance(layers, list):
            raise SignatureFormatError("the signature manifest has no layers")
        found = []
        for layer in layers:
            if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLE_SIGNING_MEDIA_TYPE:
                continue
            digest = layer.get("digest")
            annotations = layer.get("annotations")
            if not isinstance(digest, str) or not isinstance(annotations, dict):
                raise SignatureFormatError("a signature layer has no digest or annotations")
            found.append(cls(digest, annotations.get(SIGNATURE_ANNOTATION)))
        return found


def simple_signing_signer(
    payload: bytes, layer: SimpleSigningLayer, image_digest: str, keys: tuple[PublicKey, ...]
) -> list[PublicKey]:
    """The keys that signed this payload for ``image_digest`` (empty: none of them did).

    ``payload`` must already be checked against ``layer.payload_digest``. Raises
    ``SignatureFormatError`` when the payload is malformed or names another image.
    """
    signature = _b64(layer.signature_b64, f"annotation {SIGNATURE_ANNOTATION}")
    body = json_object(payload, "the signed payload")
    critical = body.get("critical")
    if not isinstance(critical, dict) or critical.get("type") != SIMPLE_SIGNING_TYPE:
        raise SignatureFormatError(f"the payload is not a {SIMPLE_SIGNING_TYPE!r}")
    image = critical.get("image")
    named = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    signers = [key for key in keys if key.verifies(signature, payload)]
    if signers and named != image_digest:
        # signed, but for another image: a signature copied onto this one
        raise SignatureFormatError(f"the signature is for {named}, not for {image_digest}")
    return signers


def pre_authentication_encoding(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's PAE: what a DSSE signature actually signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def bundle_signer(
    bundle_bytes: bytes, image_digest: str, keys: tuple[PublicKey, ...]
) -> list[PublicKey]:
    """The keys whose DSSE signature in this bundle signs cosign's predicate for the image.

    Raises ``SignatureFormatError`` for a malformed bundle, an attestation (another predicate
    type) or a statement about another image.
    """
    bundle = json_object(bundle_bytes, "the bundle")
    media_type = bundle.get("mediaType")
    if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_MEDIA_TYPE_PREFIX):
        raise SignatureFormatError(f"the bundle's mediaType is {media_type!r}")
    envelope = bundle.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise SignatureFormatError("the bundle has no DSSE envelope (message signatures sign "
                                   "blobs, not images)")  # fmt: skip
    payload_type = envelope.get("payloadType")
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise SignatureFormatError(f"the envelope's payloadType is {payload_type!r}")
    payload = _b64(envelope.get("payload"), "the envelope's payload")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise SignatureFormatError("the envelope has no signatures")
    signed = pre_authentication_encoding(payload_type, payload)
    signers: list[PublicKey] = []
    for entry in signatures:
        if not isinstance(entry, dict):
            raise SignatureFormatError("an envelope signature is not an object")
        signature = _b64(entry.get("sig"), "an envelope signature")
        signers.extend(k for k in keys if k not in signers and k.verifies(signature, signed))
    if not signers:
        return []
    statement = json_object(payload, "the in-toto statement")
    if statement.get("_type") not in IN_TOTO_STATEMENT_TYPES:
        raise SignatureFormatError("the payload is not an in-toto statement")
    predicate = statement.get("predicateType")
    if predicate != SIGN_PREDICATE:
        raise SignatureFormatError(
            f"the bundle is an attestation ({predicate}), not a signature ({SIGN_PREDICATE})"
        )
    subjects = statement.get("subject")
    hex_digest = image_digest.removeprefix("sha256:")
    named = [
        s.get("digest", {}).get("sha256")
        for s in subjects if isinstance(s, dict) and isinstance(s.get("digest"), dict)
    ] if isinstance(subjects, list) else []  # fmt: skip
    if hex_digest not in named:
        raise SignatureFormatError(
            f"the statement is about {', '.join(map(str, named)) or 'nothing'}, not {image_digest}"
        )
    return signers
