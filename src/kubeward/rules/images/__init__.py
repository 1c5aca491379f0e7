"""I: images and registries.

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.images.untrusted_registry import untrusted_registry

RULES: tuple[Rule, ...] = (
    untrusted_registry,
)
