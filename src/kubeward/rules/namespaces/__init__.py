"""N: namespaces and network isolation.

``RULES`` lists the family's rules explicitly; ``kubeward.rules`` merges the families.
"""

from kubeward.rules._base import Rule
from kubeward.rules.namespaces.default_namespace import default_namespace
from kubeward.rules.namespaces.ingress_snippet_annotation import ingress_snippet_annotation
from kubeward.rules.namespaces.ingress_without_tls import ingress_without_tls
from kubeward.rules.namespaces.load_balancer_without_source_ranges import (
    load_balancer_without_source_ranges,
)
from kubeward.rules.namespaces.namespace_without_network_policy import (
    namespace_without_network_policy,
)
from kubeward.rules.namespaces.namespace_without_pod_security_labels import (
    namespace_without_pod_security_labels,
)
from kubeward.rules.namespaces.network_policy_allows_all_egress import (
    network_policy_allows_all_egress,
)
from kubeward.rules.namespaces.network_policy_allows_all_ingress import (
    network_policy_allows_all_ingress,
)
from kubeward.rules.namespaces.nodeport_service import nodeport_service
from kubeward.rules.namespaces.service_external_ips import service_external_ips
from kubeward.rules.namespaces.workload_without_ingress_policy import (
    workload_without_ingress_policy,
)

RULES: tuple[Rule, ...] = (
    default_namespace,
    namespace_without_network_policy,
    workload_without_ingress_policy,
    network_policy_allows_all_ingress,
    network_policy_allows_all_egress,
    nodeport_service,
    load_balancer_without_source_ranges,
    service_external_ips,
    ingress_without_tls,
    ingress_snippet_annotation,
    namespace_without_pod_security_labels,
)
