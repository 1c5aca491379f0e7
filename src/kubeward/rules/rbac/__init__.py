"""R: risky RBAC permissions — who holds which dangerous power, through which binding, where.

Each rule judges one binding (RoleBinding or ClusterRoleBinding) and reports each subject that
the bound role gives the power to, with the authorizer's exact semantics (kubeward.rbac). The
catalog follows the union of peer tools' risky-permission lists
(../shared/notes/rbac.md §1.7). ``RULES`` lists the family's rules explicitly.
"""

from kubeward.rules._base import Rule
from kubeward.rules.rbac.admission_policy_write import admission_policy_write
from kubeward.rules.rbac.admission_webhook_write import admission_webhook_write
from kubeward.rules.rbac.apiservice_write import apiservice_write
from kubeward.rules.rbac.cluster_admin_equivalent import cluster_admin_equivalent
from kubeward.rules.rbac.crd_write import crd_write
from kubeward.rules.rbac.csr_approval import csr_approval
from kubeward.rules.rbac.delete_everything import delete_everything
from kubeward.rules.rbac.ephemeral_containers import ephemeral_containers
from kubeward.rules.rbac.impersonation import impersonation
from kubeward.rules.rbac.node_proxy import node_proxy
from kubeward.rules.rbac.node_write import node_write
from kubeward.rules.rbac.persistent_volume_create import persistent_volume_create
from kubeward.rules.rbac.pod_attach_portforward import pod_attach_portforward
from kubeward.rules.rbac.pod_create import pod_create
from kubeward.rules.rbac.pod_exec import pod_exec
from kubeward.rules.rbac.pod_update import pod_update
from kubeward.rules.rbac.rbac_access_policy import rbac_access_policy
from kubeward.rules.rbac.role_bind import role_bind
from kubeward.rules.rbac.role_escalate import role_escalate
from kubeward.rules.rbac.rolebinding_write import rolebinding_write
from kubeward.rules.rbac.secrets_list_watch import secrets_list_watch
from kubeward.rules.rbac.secrets_read import secrets_read
from kubeward.rules.rbac.secrets_write import secrets_write
from kubeward.rules.rbac.service_account_token_create import service_account_token_create
from kubeward.rules.rbac.service_traffic_redirect import service_traffic_redirect
from kubeward.rules.rbac.unauthenticated_binding import unauthenticated_binding
from kubeward.rules.rbac.wildcard_permissions import wildcard_permissions
from kubeward.rules.rbac.workload_controller_write import workload_controller_write

RULES: tuple[Rule, ...] = (
    cluster_admin_equivalent,
    secrets_read,
    secrets_list_watch,
    secrets_write,
    service_account_token_create,
    pod_create,
    workload_controller_write,
    pod_update,
    pod_exec,
    pod_attach_portforward,
    ephemeral_containers,
    node_proxy,
    impersonation,
    role_bind,
    role_escalate,
    rolebinding_write,
    csr_approval,
    admission_webhook_write,
    admission_policy_write,
    persistent_volume_create,
    crd_write,
    apiservice_write,
    node_write,
    service_traffic_redirect,
    delete_everything,
    unauthenticated_binding,
    rbac_access_policy,
    wildcard_permissions,
)
