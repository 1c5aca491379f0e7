package kubeward.privileged

import rego.v1

pod_spec := input.request.object.spec if input.request.object.kind == "Pod"

pod_spec := input.request.object.spec.template.spec if {
	input.request.object.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
}

pod_spec := input.request.object.spec.jobTemplate.spec.template.spec if input.request.object.kind == "CronJob"

containers contains c if {
	some field in ["initContainers", "containers", "ephemeralContainers"]
	some c in object.get(pod_spec, field, [])
}

deny contains msg if {
	some c in containers
	object.get(c, ["securityContext", "privileged"], false) == true
	msg := sprintf("container %q is privileged", [c.name])
}

deny contains msg if {
	some c in containers
	caps := object.get(c, ["securityContext", "capabilities", "add"], [])
	some cap in caps
	upper(cap) in {"SYS_ADMIN", "NET_ADMIN", "ALL"}
	msg := sprintf("container %s adds capability %s", [c.name, cap])
}

deny contains msg if {
	pod_spec.hostNetwork
	msg := "the pod shares the host network"
}
