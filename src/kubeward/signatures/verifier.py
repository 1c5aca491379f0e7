"""An image reference in, a ``SignatureVerdict`` out: discovery, verification, caching.

For a digest, both places cosign writes signatures are read: the ``sha256-<hex>.sig`` tag
(simple signing) and the image's referrers (OCI 1.1 API, or the ``sha256-<hex>`` referrers tag
where the registry lacks it) that are or may be Sigstore bundles (``bundle_candidates``).
Verdicts are cached by (repository, digest, key set) for ``cacheTTL``; a tag's digest is never
cached, since a tag can move. Concurrent verifications of the same (repository, digest, key
set) share one lookup.
Registry failures are ``error`` verdicts and are not cached, unless a signature that was found
satisfies the policy anyway (the failure is named in the detail). One image's verification has
one deadline (``SignaturePolicy.deadline``); past it the verdict is an ``error``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubeward.model.signatures import SignatureStatus, SignatureVerdict
from kubeward.rules._common.images import ImageRef, InvalidImageReference, parse_image
from kubeward.signatures.cosign import (
    BUNDLE_MEDIA_TYPE_PREFIX,
    SIGN_PREDICATE,
    PublicKey,
    SignatureFormatError,
    SimpleSigningLayer,
    bundle_signer,
    simple_signing_signer,
)
from kubeward.signatures.policy import SignaturePolicy, SignatureRule, Unpinned
from kubeward.signatures.registry import (
    DIGEST,
    MAX_REFERRERS,
    NotFound,
    RegistryClient,
    RegistryError,
    TooSlow,
    keep_descriptors,
    read_docker_config,
)

MAX_SIGNATURES = 32
"""Simple-signing layers read per image, and bundles read per image (separate budgets, so
one format's junk cannot crowd out the other's signature): a registry cannot make us loop
forever."""


@dataclass(frozen=True)
class _Found:
    signers: frozenset[str]
    formats: frozenset[str]
    """``<key> (simple signing)`` / ``<key> (bundle)``: which signature held, for messages."""
    problems: tuple[str, ...]
    failures: tuple[str, ...] = ()
    """Registry failures of one discovery path (the other may still have found a signature)."""
    limits: tuple[str, ...] = ()
    """Caps that cut the search short (named when no signature satisfies the policy)."""


class ImageVerifier:
    """Verifies images against a ``SignaturePolicy`` (thread-safe; one per process)."""

    def __init__(
        self,
        policy: SignaturePolicy,
        client: RegistryClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.client = client
        self._clock = clock
        self._cache: dict[tuple[str, str, frozenset[str]], tuple[float, _Found]] = {}
        self._inflight: dict[tuple[str, str, frozenset[str]], Future[_Found]] = {}
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    def covers(self, image: str) -> bool:
        try:
            return bool(self.policy.rules_for(parse_image(image)))
        except InvalidImageReference:
            return False

    def resolve(self, image: str) -> str:
        """The digest a tag points at now (``RegistryError`` when the registry cannot say)."""
        ref = parse_image(image)
        if ref.digest:
            return ref.digest
        with self.client.budget(self.policy.deadline):
            return self.client.manifest(ref.registry, ref.repository, ref.tag or "latest").digest

    def verify(self, image: str, *, resolve_tags: bool = False) -> SignatureVerdict | None:
        """The verdict for one image, ``None`` when no rule covers it.

        A tag is ``unpinned`` unless ``resolve_tags`` (and the policy pins rather than denies):
        then the digest it points at now is judged. Every registry request made for it shares
        one deadline (``SignaturePolicy.deadline``).
        """
        with self.client.budget(self.policy.deadline):
            return self._verify(image, resolve_tags=resolve_tags)

    def _verify(self, image: str, *, resolve_tags: bool) -> SignatureVerdict | None:
        try:
            ref = parse_image(image)
        except InvalidImageReference as exc:
            return SignatureVerdict(image, SignatureStatus.INVALID, str(exc))
        rules = self.policy.rules_for(ref)
        if not rules:
            return None
        digest = ref.digest
        if digest is None:
            if not resolve_tags or self.policy.unpinned is Unpinned.DENY:
                return SignatureVerdict(
                    image, SignatureStatus.UNPINNED,
                    f"not pinned by digest; signature policy {_names(rules)} requires a digest",
                )  # fmt: skip
            try:
                digest = self.resolve(image)
            except RegistryError as exc:
                return SignatureVerdict(image, SignatureStatus.ERROR, f"cannot resolve: {exc}")
        keys = tuple({k.name: k for rule in rules for k in rule.keys}.values())
        try:
            found = self._signers(ref, digest, keys)
        except RegistryError as exc:
            return SignatureVerdict(image, SignatureStatus.ERROR, str(exc), digest)
        failed = [rule for rule in rules if not rule.satisfied_by(found.signers)]
        signers = tuple(sorted(found.signers))
        if not failed:
            despite = f" (despite: {'; '.join(found.failures)})" if found.failures else ""
            return SignatureVerdict(
                image, SignatureStatus.VERIFIED,
                f"signed by {', '.join(sorted(found.formats))} ({_names(rules)}){despite}",
                digest, signers,
            )  # fmt: skip
        wanted = "; ".join(_wanted(rule) for rule in failed)
        if found.failures:  # what was not seen could have satisfied the policy
            return SignatureVerdict(
                image, SignatureStatus.ERROR, f"{wanted}; {'; '.join(found.failures)}", digest,
                signers,
            )  # fmt: skip
        if found.limits:
            wanted = f"{wanted} ({'; '.join(found.limits)})"
        if found.problems:
            return SignatureVerdict(
                image, SignatureStatus.INVALID,
                f"{wanted}; {'; '.join(found.problems[:3])}", digest, signers,
            )  # fmt: skip
        got = f" (signed only by {', '.join(signers)})" if signers else ""
        return SignatureVerdict(image, SignatureStatus.UNSIGNED, f"{wanted}{got}", digest, signers)

    def _signers(self, ref: ImageRef, digest: str, keys: tuple[PublicKey, ...]) -> _Found:
        key = (ref.name, digest, frozenset(k.name for k in keys))
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                self.cache_hits += 1
                return cached[1]
            self.cache_misses += 1
            running = self._inflight.get(key)
            if running is None:
                mine: Future[_Found] = Future()
                self._inflight[key] = mine
        if running is not None:  # the same lookup is under way in another thread: share it
            return running.result()
        try:
            found = self._lookup(ref, digest, keys)
        except BaseException as exc:
            with self._lock:
                del self._inflight[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            del self._inflight[key]
            mine.set_result(found)
            if found.failures:
                return found  # a registry failure is not remembered
            if len(self._cache) > 10_000:  # bounded: drop expired entries, then the oldest
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                while len(self._cache) > 10_000:
                    self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (now + self.policy.cache_ttl, found)
        return found

    def _lookup(self, ref: ImageRef, digest: str, keys: tuple[PublicKey, ...]) -> _Found:
        signers: set[str] = set()
        formats: set[str] = set()
        problems: list[str] = []
        failures: list[str] = []
        limits: list[str] = []
        registry, repository = ref.registry, ref.repository
        hex_digest = digest.removeprefix("sha256:")
        # simple signing: the .sig tag
        try:
            try:
                manifest = self.client.manifest(registry, repository, f"sha256-{hex_digest}.sig")
                layers = SimpleSigningLayer.all_in(manifest.json())
            except NotFound:
                layers = []
            except SignatureFormatError as exc:
                problems.append(f"malformed .sig manifest: {exc}")
                layers = []
            if len(layers) > MAX_SIGNATURES:
                limits.append(f"only the first {MAX_SIGNATURES} of {len(layers)} .sig layers read")
            for layer in layers[:MAX_SIGNATURES]:
                try:
                    if not DIGEST.fullmatch(layer.payload_digest):
                        raise SignatureFormatError(
                            f"payload digest {layer.payload_digest[:80]!r} is not a sha256 digest"
                        )
                    payload = self.client.blob(registry, repository, layer.payload_digest)
                    signed = simple_signing_signer(payload, layer, digest, keys)
                except (SignatureFormatError, NotFound) as exc:
                    problems.append(f"simple signing: {exc}")
                    continue
                signers.update(k.name for k in signed)
                formats.update(f"{k.name} (simple signing)" for k in signed)
        except TooSlow:
            raise
        except RegistryError as exc:
            failures.append(f"the .sig signature could not be read: {exc}")
        # sigstore bundles: referrers API, else the referrers tag
        try:
            candidates, truncated = self._candidates(registry, repository, digest, problems)
        except TooSlow:
            raise
        except RegistryError as exc:
            failures.append(f"the referrers API failed: {exc}")
            candidates, truncated = [], False
        if truncated:
            limits.append(f"only the first {MAX_REFERRERS} referrers considered")
        if len(candidates) > MAX_SIGNATURES:
            limits.append(f"only {MAX_SIGNATURES} of {len(candidates)} referrers read")
        for manifest_digest, listed in candidates[:MAX_SIGNATURES]:
            try:
                by = self._bundle(
                    registry, repository, manifest_digest, digest, keys, listed=listed
                )
            except (SignatureFormatError, NotFound) as exc:
                problems.append(f"bundle: {exc}")
                continue
            except TooSlow:
                raise
            except RegistryError as exc:
                failures.append(f"bundle {manifest_digest} could not be read: {exc}")
                continue
            if by is None:
                continue  # another kind of artifact (an SBOM, a Notation signature)
            signers.update(k.name for k in by)
            formats.update(f"{k.name} (bundle)" for k in by)
        return _Found(
            frozenset(signers), frozenset(formats), tuple(problems), tuple(failures),
            tuple(limits),
        )  # fmt: skip

    def _candidates(
        self, registry: str, repository: str, digest: str, problems: list[str]
    ) -> tuple[list[tuple[str, bool]], bool]:
        """The referrers that may be bundles (``bundle_candidates``), from the referrers API or
        else the referrers tag, at most ``MAX_REFERRERS``; and whether more were listed."""
        listed = self.client.referrers(registry, repository, digest, keep=may_be_bundle)
        if listed is not None:
            return bundle_candidates(listed.descriptors), listed.truncated
        descriptors: list[dict[str, Any]] = []
        hex_digest = digest.removeprefix("sha256:")
        try:
            index = self.client.manifest(registry, repository, f"sha256-{hex_digest}").json()
        except NotFound:
            return [], False
        except SignatureFormatError as exc:
            problems.append(f"malformed referrers index: {exc}")
            return [], False
        truncated = keep_descriptors(index, may_be_bundle, descriptors)
        return bundle_candidates(descriptors), truncated

    def _bundle(
        self, registry: str, repository: str, manifest_digest: str, digest: str,
        keys: tuple[PublicKey, ...], *, listed: bool,
    ) -> list[PublicKey] | None:  # fmt: skip
        """The keys that signed the bundle in this referrer; ``None`` when a referrer the
        registry did not list as a bundle (``listed`` false) turns out to be something else."""
        manifest = self.client.manifest(registry, repository, manifest_digest).json()
        if not listed and not _holds_bundle(manifest):
            return None
        subject = manifest.get("subject")
        if not isinstance(subject, dict) or subject.get("digest") != digest:
            raise SignatureFormatError(f"artifact {manifest_digest} does not refer to {digest}")
        layers = manifest.get("layers")
        if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
            raise SignatureFormatError(f"artifact {manifest_digest} is not one bundle layer")
        layer = layers[0]
        media_type = layer.get("mediaType")
        if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_MEDIA_TYPE_PREFIX):
            raise SignatureFormatError(f"artifact {manifest_digest} holds {media_type!r}")
        blob_digest = layer.get("digest")
        if not isinstance(blob_digest, str) or not DIGEST.fullmatch(blob_digest):
            raise SignatureFormatError(f"artifact {manifest_digest}'s layer has no sha256 digest")
        return bundle_signer(self.client.blob(registry, repository, blob_digest), digest, keys)


EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"


def may_be_bundle(descriptor: Mapping[str, Any]) -> bool:
    """Whether a referrer's descriptor may be a Sigstore bundle (see ``bundle_candidates``)."""
    kind = descriptor.get("artifactType")
    return kind in (None, "", EMPTY_CONFIG_TYPE) or (
        isinstance(kind, str) and kind.startswith(BUNDLE_MEDIA_TYPE_PREFIX)
    )


def bundle_candidates(descriptors: Iterable[Mapping[str, Any]]) -> list[tuple[str, bool]]:
    """``(manifest digest, listed as a bundle)`` for the referrers that may be Sigstore bundles,
    the likeliest first.

    cosign gives its bundle manifests ``artifactType: application/vnd.dev.sigstore.bundle…``,
    and a conformant registry lists that. But a registry that takes the descriptor's
    ``artifactType`` from the config's media type instead (go-containerregistry's
    ``pkg/registry``, behind ``crane registry serve``) lists every OCI 1.1 artifact as
    ``application/vnd.oci.empty.v1+json``, and older ones leave it out: those referrers are
    fetched and judged by their manifest. Any other type (an SBOM, a Notation signature) is
    skipped unread. Descriptors listed as bundles come first, and among them those annotated
    with cosign's signing predicate (a hint only: the signed statement decides).
    """
    ranked: dict[str, tuple[bool, bool]] = {}
    for descriptor in descriptors:
        manifest_digest = descriptor.get("digest")
        kind = descriptor.get("artifactType")
        if (
            not isinstance(manifest_digest, str)
            or not DIGEST.fullmatch(manifest_digest)
            or manifest_digest in ranked
        ):
            continue  # only a sha256 digest is fetched: `digest: "v1"` would name a tag
        if isinstance(kind, str) and kind.startswith(BUNDLE_MEDIA_TYPE_PREFIX):
            listed = True
        elif kind in (None, "", EMPTY_CONFIG_TYPE):
            listed = False
        else:
            continue
        annotations = descriptor.get("annotations")
        signing = (
            isinstance(annotations, dict)
            and annotations.get(BUNDLE_PREDICATE_ANNOTATION) == SIGN_PREDICATE
        )
        ranked[manifest_digest] = (listed, signing)
    order = sorted(ranked.items(), key=lambda item: (not item[1][0], not item[1][1]))
    return [(manifest_digest, listed) for manifest_digest, (listed, _) in order]


def _holds_bundle(manifest: Mapping[str, Any]) -> bool:
    """Whether an artifact manifest is a Sigstore bundle by its own ``artifactType`` or layers."""
    kind = manifest.get("artifactType")
    if isinstance(kind, str) and kind.startswith(BUNDLE_MEDIA_TYPE_PREFIX):
        return True
    layers = manifest.get("layers")
    return isinstance(layers, list) and any(
        isinstance(layer, dict)
        and isinstance(layer.get("mediaType"), str)
        and layer["mediaType"].startswith(BUNDLE_MEDIA_TYPE_PREFIX)
        for layer in layers
    )


def _names(rules: tuple[SignatureRule, ...]) -> str:
    return ", ".join(rule.name for rule in rules)


def _wanted(rule: SignatureRule) -> str:
    keys = ", ".join(k.name for k in rule.keys)
    how = "every one of" if rule.require.value == "all" and len(rule.keys) > 1 else "one of"
    return f"policy {rule.name} requires a signature by {how} {keys}"


def client_for(policy: SignaturePolicy) -> RegistryClient:
    """A registry client with the policy's timeout, plain-HTTP hosts and credentials."""
    credentials = read_docker_config(policy.credentials) if policy.credentials else {}
    return RegistryClient(
        timeout=policy.timeout, insecure=policy.plain_http, credentials=credentials
    )


def verify_images(
    verifier: ImageVerifier, images: Iterable[str], *, resolve_tags: bool, workers: int = 8
) -> dict[str, SignatureVerdict]:
    """Verdicts for the covered images among ``images`` (each distinct image asked once,
    several registries in parallel: the lookups are network-bound)."""
    wanted = sorted({image for image in images if verifier.covers(image)})
    if len(wanted) <= 1:  # the common admission: no thread pool to start and stop
        found = [verifier.verify(image, resolve_tags=resolve_tags) for image in wanted]
        return {image: v for image, v in zip(wanted, found, strict=True) if v is not None}
    with ThreadPoolExecutor(max_workers=min(workers, len(wanted))) as pool:
        verdicts = pool.map(lambda image: verifier.verify(image, resolve_tags=resolve_tags), wanted)
        return {image: v for image, v in zip(wanted, verdicts, strict=True) if v is not None}
