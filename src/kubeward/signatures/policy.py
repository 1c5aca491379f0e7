"""Which images must be signed by whom (``imageSignatures:`` in kubeward.yaml).

```yaml
imageSignatures:
  rules:
    - name: acme-releases
      images: ["registry.example/acme/**"]   # * within one path segment, ** across segments
      keys: [keys/release.pub, keys/ci.pub]  # PEM public keys (cosign.pub), relative to this file
      require: any                           # any: one key suffices; all: every key must sign
  unpinned: pin        # pin: tags are resolved to verified digests (mutating webhook);
                       # deny: an image without @sha256: fails I007
  cacheTTL: 3600       # seconds a verdict is kept per digest (and key set)
  timeout: 5           # seconds per network wait; a whole image verification: 3 times this
  plainHTTP: [127.0.0.1:5000]                # registries spoken to without TLS
  credentials: /etc/kubeward/registry.json   # a .dockerconfigjson (imagePullSecret format)
```

Every rule whose patterns match an image applies; an image no rule matches is not checked.
Patterns match the normalised name (``docker.io/library/nginx`` for ``nginx``) without tag or
digest; HTTPS's default port is no part of it (``registry.example:443/acme/app`` is
``registry.example/acme/app``, as the runtime pulls it from the same place), on either side.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from kubeward.rules._common.images import DOCKER_HUB, ImageRef

if TYPE_CHECKING:  # only named in annotations: importing cosign loads the crypto libraries
    from kubeward.signatures.cosign import PublicKey


class Require(enum.StrEnum):
    ANY = "any"
    ALL = "all"


class Unpinned(enum.StrEnum):
    PIN = "pin"
    DENY = "deny"


_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")


def normal_registry(host: str) -> str:
    """A registry host as signatures compare it: lower-case, without HTTPS's default port
    (``:443``), Docker Hub's aliases spelled ``docker.io``."""
    host = host.lower().removesuffix(":443")
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def normal_name(image: ImageRef) -> str:
    """``registry/repository`` with ``normal_registry`` (and ``library/`` for a one-part
    Docker Hub name reached through an alias such as ``index.docker.io:443/nginx``)."""
    registry = normal_registry(image.registry)
    repository = image.repository
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return f"{registry}/{repository}"


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*|\?)", glob)
    wildcard = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcard.get(p, re.escape(p)) for p in parts))


def check_image_pattern(glob: str) -> str:
    """A pattern's normal form (Docker Hub names spelled out, as image names are normalised);
    ``ValueError`` for one that cannot match an image name."""
    text = glob.strip()
    if not text or "://" in text or "@" in text or any(c.isspace() for c in text):
        raise ValueError(f"{glob!r} is not an image name pattern (registry/path, * and **)")
    if ":" in text.rpartition("/")[2]:
        raise ValueError(f"{glob!r}: patterns match names; leave out the tag")
    first, slash, rest = text.partition("/")
    if "*" in first or "?" in first:
        return text
    if not slash:  # `nginx`: an official Docker Hub image, as the runtime reads it
        return f"docker.io/library/{text}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{text}"  # `acme/app`: a Docker Hub user's repository
    host = normal_registry(first)
    if host == DOCKER_HUB and rest and "/" not in rest and not any(c in rest for c in "*?"):
        return f"docker.io/library/{rest}"
    return f"{host}/{rest}"


DEADLINE_FACTOR = 3
"""An image's verification may take ``DEADLINE_FACTOR`` times ``timeout`` in all."""


@dataclass(frozen=True)
class SignatureRule:
    name: str
    images: tuple[str, ...]
    keys: tuple[PublicKey, ...]
    require: Require = Require.ANY

    def covers(self, image: ImageRef) -> bool:
        name = normal_name(image)
        return any(_pattern(glob).fullmatch(name) for glob in self.images)

    def satisfied_by(self, signers: frozenset[str]) -> bool:
        names = {key.name for key in self.keys}
        if self.require is Require.ALL:
            return names <= signers
        return bool(names & signers)


@dataclass(frozen=True)
class SignaturePolicy:
    rules: tuple[SignatureRule, ...] = ()
    unpinned: Unpinned = Unpinned.PIN
    cache_ttl: float = 3600.0
    timeout: float = 5.0
    plain_http: frozenset[str] = frozenset()
    credentials: Path | None = None

    @property
    def deadline(self) -> float:
        """Seconds one image's verification may take, all its requests and bodies included
        (``timeout`` bounds each network wait): a registry that dribbles cannot hold a webhook
        thread longer."""
        return DEADLINE_FACTOR * self.timeout

    def rules_for(self, image: ImageRef) -> tuple[SignatureRule, ...]:
        return tuple(rule for rule in self.rules if rule.covers(image))

    @property
    def enabled(self) -> bool:
        return bool(self.rules)
