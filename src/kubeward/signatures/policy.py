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
  timeout: 5           # seconds per registry request
  plainHTTP: [127.0.0.1:5000]                # registries spoken to without TLS
  credentials: /etc/kubeward/registry.json   # a .dockerconfigjson (imagePullSecret format)
```

Every rule whose patterns match an image applies; an image no rule matches is not checked.
Patterns match the normalised name (``docker.io/library/nginx`` for ``nginx``) without tag or
digest.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from kubeward.rules._common.images import ImageRef

if TYPE_CHECKING:  # only named in annotations: importing cosign loads the crypto libraries
    from kubeward.signatures.cosign import PublicKey


class Require(enum.StrEnum):
    ANY = "any"
    ALL = "all"


class Unpinned(enum.StrEnum):
    PIN = "pin"
    DENY = "deny"


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
    if first in ("index.docker.io", "registry-1.docker.io"):
        return f"docker.io/{rest}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{text}"  # `acme/app`: a Docker Hub user's repository
    return text


@dataclass(frozen=True)
class SignatureRule:
    name: str
    images: tuple[str, ...]
    keys: tuple[PublicKey, ...]
    require: Require = Require.ANY

    def covers(self, image: ImageRef) -> bool:
        return any(_pattern(glob).fullmatch(image.name) for glob in self.images)

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

    def rules_for(self, image: ImageRef) -> tuple[SignatureRule, ...]:
        return tuple(rule for rule in self.rules if rule.covers(image))

    @property
    def enabled(self) -> bool:
        return bool(self.rules)
