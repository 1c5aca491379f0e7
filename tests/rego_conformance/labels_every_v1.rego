package kubeward.labels

import rego.v1

required := {"team", "app.kubernetes.io/name"}

labels := object.get(input.review.object, ["metadata", "labels"], {})

deny contains msg if {
	some key in required
	not labels[key]
	msg := sprintf("label %s is missing", [key])
}

deny contains msg if {
	some key, value in labels
	not regex.match(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`, value)
	msg := sprintf("label %s=%q is not lower-case", [key, value])
}

deny contains "too many labels" if count(labels) > 8

deny contains msg if {
	containers := object.get(input.review.object, ["spec", "containers"], [])
	count(containers) > 0
	not all_have_limits(containers)
	msg := sprintf("%d of %d containers set no memory limit", [count([c | some c in containers; not c.resources.limits.memory]), count(containers)])
}

all_have_limits(containers) if {
	every c in containers {
		c.resources.limits.memory
	}
}
