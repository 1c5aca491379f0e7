"""Container image references, parsed the way the container runtime resolves them.

Follows ``distribution/reference`` (``ParseNormalizedNamed``, the parser containerd, CRI-O and
the kubelet run; tests/test_imageref_oracle.py compares the two): a missing registry means Docker
Hub (``docker.io``), a single-component name there means the ``library/`` namespace, and
``index.docker.io`` is Docker Hub too. The first path component is a registry only if it
contains ``.`` or ``:``, is ``localhost``, or has upper-case letters (which repository names
cannot). A repository path is at most 255 characters, and a digest is one the runtime can
verify: sha256, sha384 or sha512 in lower-case hex of the algorithm's length.

Deliberate differences, on the safe side for matching: the registry host is lower-cased (DNS is
case-insensitive) and Docker Hub's host aliases are spelled ``docker.io``; the repository path
stays the runtime's (``registry-1.docker.io/nginx`` is the repository ``nginx``, not
``library/nginx``). A reference over 4096 characters, which only a host can make that long and
no DNS name is, and one whose first component is neither a host nor a repository name
(``foo_bar.io/x``, which the runtime would send to the host ``foo_bar.io``) are invalid, so
I001 reports them as untrusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DOCKER_HUB = "docker.io"
_LEGACY_DOCKER_HUB = ("index.docker.io", "registry-1.docker.io")
_LIBRARY_HOSTS = (DOCKER_HUB, "index.docker.io")
"""Hosts whose one-component names the runtime reads as ``library/`` (exactly these spellings:
``registry-1.docker.io/nginx`` or ``Docker.io/nginx`` is the repository ``nginx``)."""
MAX_PATH = 255
"""distribution/reference's RepositoryNameTotalLengthMax (``library/`` included)."""

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
# The grammar allows any algorithm and hex case; go-digest, which the runtime parses digests
# with, accepts only these (lower-case hex, the algorithm's length). Anything else fails the pull.
_DIGEST = r"(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})"
IMAGE_ID_PATTERN = r"[a-f0-9]{64}"
"""A bare image ID, which the runtime refuses as a name (``ParseNormalizedNamed``)."""

# Whole-string, ASCII matching, as Go's regexp does for distribution/reference: Python's `$`
# would accept a trailing newline and its `\w` non-ASCII letters.
REMOTE_PATTERN = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
DOMAIN_PATTERN, TAG_PATTERN, DIGEST_PATTERN = _DOMAIN, _TAG, _DIGEST
"""The grammar, shared with the ValidatingAdmissionPolicy export (RE2 reads it the same)."""
_REMOTE_NAME = re.compile(REMOTE_PATTERN, re.ASCII)
_DOMAIN_RE = re.compile(_DOMAIN, re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_IMAGE_ID_RE = re.compile(IMAGE_ID_PATTERN, re.ASCII)


class InvalidImageReference(ValueError):
    """The string is not a valid image reference."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed, normalised image reference."""

    registry: str
    """Registry host (with port), lower-cased; ``docker.io`` for Docker Hub."""
    repository: str
    """Path inside the registry, e.g. ``library/nginx`` or ``acme/api``."""
    tag: str | None
    digest: str | None
    original: str

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def pinned(self) -> bool:
        return self.digest is not None


@lru_cache(maxsize=16384)
def parse_image(reference: str) -> ImageRef:
    """Parse and normalise an image reference; raises ``InvalidImageReference``.

    Cached: the same image appears in many workloads and is read by several rules.
    """
    text = reference.strip()
    if not text or text != reference or len(text) > 4096 or _IMAGE_ID_RE.fullmatch(text):
        raise InvalidImageReference(f"{reference!r} is not a valid image reference")
    name, digest = text, None
    if "@" in name:
        name, _, digest = name.partition("@")
        if not _DIGEST_RE.fullmatch(digest):
            raise InvalidImageReference(f"{reference!r} has a malformed digest")
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise InvalidImageReference(f"{reference!r} has a malformed tag {tag!r}")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        registry, remote = first, rest
        if not _DOMAIN_RE.fullmatch(registry):
            raise InvalidImageReference(f"{reference!r} has a malformed registry {registry!r}")
        official = first in _LIBRARY_HOSTS
        registry = registry.lower()
        if registry in _LEGACY_DOCKER_HUB:
            registry = DOCKER_HUB
    else:
        registry, remote, official = DOCKER_HUB, name, True
    if not _REMOTE_NAME.fullmatch(remote):
        raise InvalidImageReference(f"{reference!r} has a malformed repository name {remote!r}")
    if official and "/" not in remote:
        remote = f"library/{remote}"
    if len(remote) > MAX_PATH:
        raise InvalidImageReference(
            f"{reference!r}: the repository name is longer than {MAX_PATH} characters"
        )
    return ImageRef(
        registry=registry, repository=remote, tag=tag, digest=digest, original=reference
    )


@dataclass(frozen=True, slots=True)
class RegistryPattern:
    """One entry of ``trustedRegistries``: a registry host, optionally with a path prefix."""

    registry: str
    path: str
    original: str

    def matches(self, image: ImageRef) -> bool:
        """Match on whole path components: ``ghcr.io/acme`` does not match ``ghcr.io/acme-evil``."""
        if image.registry != self.registry:
            return False
        if not self.path:
            return True
        return image.repository == self.path or image.repository.startswith(self.path + "/")


def parse_registry_pattern(entry: str) -> RegistryPattern:
    """Normalise a trusted-registry entry (``docker.io``, ``ghcr.io/acme``, ``localhost:5000``).

    Raises ``ValueError`` for entries that cannot be a registry (schemes, wildcards, blanks),
    and for a one-component Docker Hub path (``docker.io/nginx``) without a trailing ``/``.
    """
    text = entry.strip()
    namespace = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        raise ValueError("an empty registry entry would trust nothing")
    if "://" in text:
        raise ValueError(f"{entry!r}: give the registry host without a scheme (https://)")
    if any(ch in text for ch in "*?@ "):
        raise ValueError(
            f"{entry!r}: use a registry host or host/path prefix (no wildcards, tags or digests)"
        )
    host, _, path = text.partition("/")
    if not _DOMAIN_RE.fullmatch(host):
        raise ValueError(f"{entry!r}: {host!r} is not a registry host")
    if "." not in host and ":" not in host and host != "localhost":
        raise ValueError(
            f"{entry!r}: a registry host has a dot or a port, or is localhost; an image "
            f"'{host}/...' would resolve to Docker Hub (write docker.io/{text} for that)"
        )
    host = host.lower()
    if host in _LEGACY_DOCKER_HUB:
        host = DOCKER_HUB
    if path and not _REMOTE_NAME.fullmatch(path):
        raise ValueError(f"{entry!r}: {path!r} is not a repository path")
    if host == DOCKER_HUB and path and "/" not in path and path != "library" and not namespace:
        # The runtime reads the image docker.io/nginx as docker.io/library/nginx; as a prefix the
        # entry would trust the account `nginx` instead, and not that image: say which.
        raise ValueError(
            f"{entry!r} is ambiguous: the image {host}/{path} is {host}/library/{path}; write "
            f"{host}/library/{path} for that official image, or {host}/{path}/ for every "
            f"repository of the Docker Hub account {path!r}"
        )
    return RegistryPattern(registry=host, path=path, original=entry)


def first_match(image: ImageRef, patterns: tuple[RegistryPattern, ...]) -> RegistryPattern | None:
    for pattern in patterns:
        if pattern.matches(image):
            return pattern
    return None
