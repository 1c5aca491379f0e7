package kubeward.strings

import rego.v1

obj := input.review.object

name := object.get(obj, ["metadata", "name"], "")

deny contains msg if {
	parts := split(name, "-")
	count(parts) > 3
	msg := sprintf("name %s has %d parts: %v", [name, count(parts), parts])
}

deny contains msg if {
	endswith(lower(name), "-prod")
	msg := concat(" ", ["name", name, "ends in", "-prod"])
}

deny contains msg if {
	some c in object.get(obj, ["spec", "containers"], [])
	some e in object.get(c, "env", [])
	contains(upper(e.name), "PASSWORD")
	not e.valueFrom
	msg := sprintf("container %s: env %s holds a literal password of %d characters", [c.name, e.name, count(object.get(e, "value", ""))])
}

deny contains msg if {
	some c in object.get(obj, ["spec", "containers"], [])
	img := c.image
	not contains(img, "@")
	tag := regex.find_n(`:[^/:]+$`, img, 1)
	count(tag) == 0
	msg := sprintf("image %s has no tag: %s", [img, trim_prefix(img, "docker.io/")])
}

deny contains msg if {
	some port in object.get(obj, ["spec", "ports"], [])
	port.port < 1024
	msg := sprintf("service port %v is privileged; target %v", [port.port, object.get(port, "targetPort", "none")])
}
