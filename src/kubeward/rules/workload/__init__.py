"""W: workload hardening (Pod Security Standards, container security context).

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.workload.privileged_container import privileged_container

RULES: tuple[Rule, ...] = (
    privileged_container,
)
