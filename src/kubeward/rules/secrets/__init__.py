"""S: secrets kept where they do not belong.

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.secrets.helm_release_in_configmap import helm_release_in_configmap
from kubeward.rules.secrets.secret_as_env_variable import secret_as_env_variable
from kubeward.rules.secrets.secret_data_in_manifest import secret_data_in_manifest
from kubeward.rules.secrets.secret_in_annotation import secret_in_annotation
from kubeward.rules.secrets.secret_in_command_args import secret_in_command_args
from kubeward.rules.secrets.secret_in_configmap import secret_in_configmap
from kubeward.rules.secrets.secret_in_env import secret_in_env

RULES: tuple[Rule, ...] = (
    secret_in_env,
    secret_in_configmap,
    secret_in_annotation,
    helm_release_in_configmap,
    secret_as_env_variable,
    secret_in_command_args,
    secret_data_in_manifest,
)
