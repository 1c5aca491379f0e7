"""N: namespaces and network isolation.

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.namespaces.default_namespace import default_namespace

RULES: tuple[Rule, ...] = (
    default_namespace,
)
