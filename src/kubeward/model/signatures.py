"""The outcome of checking one image's signatures (computed at the edges, read by rule I007)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SignatureStatus(enum.StrEnum):
    VERIFIED = "verified"
    """Signed as the policy requires, for exactly this digest."""
    UNSIGNED = "unsigned"
    """No signature by the required keys (none at all, or by other keys)."""
    INVALID = "invalid"
    """A signature object is malformed, names another image, or is an attestation."""
    UNPINNED = "unpinned"
    """A tag where the policy requires a digest (the node could pull other content)."""
    ERROR = "error"
    """The registry could not be asked (unreachable, timeout, refused): not judged."""


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    image: str
    """The reference as written in the container."""
    status: SignatureStatus
    detail: str
    """Why, for a message: the policy, the keys that signed or were missing, the problem."""
    digest: str | None = None
    """The digest that was judged (resolved from the tag where there was one)."""
    signers: tuple[str, ...] = ()
    """Names of the keys whose signatures held."""

    @property
    def verified(self) -> bool:
        return self.status is SignatureStatus.VERIFIED
