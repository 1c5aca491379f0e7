package kubeward.typeerr

import rego.v1

deny contains msg if {
	n := input.review.object.metadata.name
	x := n + 1
	msg := sprintf("%v", [x])
}
