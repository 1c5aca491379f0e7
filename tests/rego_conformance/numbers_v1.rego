package kubeward.numbers

import rego.v1

spec := object.get(input.review.object, "spec", {})

deny contains msg if {
	replicas := object.get(spec, "replicas", 1)
	replicas < 2
	msg := sprintf("replicas %d < 2 (%v, %v)", [replicas, replicas / 2, replicas * 1.5])
}

deny contains msg if {
	some c in object.get(object.get(object.get(spec, "template", {}), "spec", {}), "containers", [])
	mem := c.resources.limits.memory
	bytes := units.parse_bytes(mem)
	bytes > 1073741824
	msg := sprintf("container %s limits memory to %v bytes (%s)", [c.name, bytes, mem])
}

deny contains msg if {
	some c in object.get(object.get(object.get(spec, "template", {}), "spec", {}), "containers", [])
	cpu := c.resources.limits.cpu
	cores := units.parse(cpu)
	cores > 2
	msg := sprintf("container %s limits cpu to %v cores", [c.name, cores])
}

total_ports := sum([count(object.get(c, "ports", [])) | some c in object.get(object.get(object.get(spec, "template", {}), "spec", {}), "containers", [])])

deny contains msg if {
	total_ports > 3
	msg := sprintf("%d ports", [total_ports])
}

deny contains msg if {
	some c in object.get(object.get(object.get(spec, "template", {}), "spec", {}), "containers", [])
	to_number(object.get(c, ["securityContext", "runAsUser"], 1000)) < 1000
	msg := sprintf("container %s runs as uid %v: max(%v)", [c.name, c.securityContext.runAsUser, max([c.securityContext.runAsUser, 7])])
}
