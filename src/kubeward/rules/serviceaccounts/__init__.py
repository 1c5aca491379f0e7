"""A: service accounts (default service account, token automount, sharing).

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.serviceaccounts.default_service_account import default_service_account

RULES: tuple[Rule, ...] = (
    default_service_account,
)
