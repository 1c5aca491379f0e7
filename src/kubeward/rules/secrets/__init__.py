"""S: secrets kept where they do not belong.

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.secrets.secret_in_env import secret_in_env

RULES: tuple[Rule, ...] = (
    secret_in_env,
)
