"""W: workload hardening (Pod Security Standards, container security context).

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.workload.added_capabilities import added_capabilities
from kubeward.rules.workload.apparmor_unconfined import apparmor_unconfined
from kubeward.rules.workload.capabilities_not_dropped import capabilities_not_dropped
from kubeward.rules.workload.custom_selinux_options import custom_selinux_options
from kubeward.rules.workload.dangerous_capabilities import dangerous_capabilities
from kubeward.rules.workload.host_ipc import host_ipc
from kubeward.rules.workload.host_network import host_network
from kubeward.rules.workload.host_path_volume import host_path_volume
from kubeward.rules.workload.host_pid import host_pid
from kubeward.rules.workload.host_port import host_port
from kubeward.rules.workload.missing_liveness_probe import missing_liveness_probe
from kubeward.rules.workload.missing_readiness_probe import missing_readiness_probe
from kubeward.rules.workload.missing_resource_limits import missing_resource_limits
from kubeward.rules.workload.missing_resource_requests import missing_resource_requests
from kubeward.rules.workload.net_raw_capability import net_raw_capability
from kubeward.rules.workload.privilege_escalation_allowed import privilege_escalation_allowed
from kubeward.rules.workload.privileged_container import privileged_container
from kubeward.rules.workload.probe_host_override import probe_host_override
from kubeward.rules.workload.restricted_volume_type import restricted_volume_type
from kubeward.rules.workload.run_as_root_allowed import run_as_root_allowed
from kubeward.rules.workload.run_as_root_group import run_as_root_group
from kubeward.rules.workload.run_as_root_user import run_as_root_user
from kubeward.rules.workload.seccomp_profile_missing import seccomp_profile_missing
from kubeward.rules.workload.seccomp_unconfined import seccomp_unconfined
from kubeward.rules.workload.sensitive_host_path import sensitive_host_path
from kubeward.rules.workload.shared_process_namespace import shared_process_namespace
from kubeward.rules.workload.unmasked_proc_mount import unmasked_proc_mount
from kubeward.rules.workload.unsafe_sysctls import unsafe_sysctls
from kubeward.rules.workload.windows_host_process import windows_host_process
from kubeward.rules.workload.writable_host_path import writable_host_path
from kubeward.rules.workload.writable_root_filesystem import writable_root_filesystem

RULES: tuple[Rule, ...] = (
    privileged_container,
    host_pid,
    host_ipc,
    host_network,
    host_path_volume,
    sensitive_host_path,
    added_capabilities,
    host_port,
    apparmor_unconfined,
    custom_selinux_options,
    unmasked_proc_mount,
    seccomp_unconfined,
    unsafe_sysctls,
    windows_host_process,
    privilege_escalation_allowed,
    run_as_root_allowed,
    run_as_root_user,
    seccomp_profile_missing,
    capabilities_not_dropped,
    restricted_volume_type,
    writable_root_filesystem,
    missing_resource_limits,
    missing_resource_requests,
    missing_liveness_probe,
    missing_readiness_probe,
    run_as_root_group,
    shared_process_namespace,
    net_raw_capability,
    dangerous_capabilities,
    writable_host_path,
    probe_host_override,
)
