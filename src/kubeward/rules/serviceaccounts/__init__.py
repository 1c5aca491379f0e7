"""A: service accounts (default service account, token automount, sharing).

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.serviceaccounts.default_service_account import default_service_account
from kubeward.rules.serviceaccounts.default_service_account_binding import (
    default_service_account_binding,
)
from kubeward.rules.serviceaccounts.long_lived_token_secret import long_lived_token_secret
from kubeward.rules.serviceaccounts.service_account_token_automount import (
    service_account_token_automount,
)
from kubeward.rules.serviceaccounts.shared_service_account import shared_service_account

RULES: tuple[Rule, ...] = (
    default_service_account,
    service_account_token_automount,
    shared_service_account,
    default_service_account_binding,
    long_lived_token_secret,
)
