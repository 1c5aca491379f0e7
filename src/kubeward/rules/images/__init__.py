"""I: images and registries.

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.images.deprecated_registry import deprecated_registry
from kubeward.rules.images.image_without_digest import image_without_digest
from kubeward.rules.images.insecure_registry import insecure_registry
from kubeward.rules.images.latest_image_tag import latest_image_tag
from kubeward.rules.images.mutable_tag_without_always_pull import (
    mutable_tag_without_always_pull,
)
from kubeward.rules.images.untrusted_registry import untrusted_registry
from kubeward.rules.images.unverified_image_signature import unverified_image_signature

RULES: tuple[Rule, ...] = (
    untrusted_registry,
    image_without_digest,
    latest_image_tag,
    insecure_registry,
    deprecated_registry,
    mutable_tag_without_always_pull,
    unverified_image_signature,
)
