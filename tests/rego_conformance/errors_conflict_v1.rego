package kubeward.conflict

import rego.v1

level := "high" if input.review.object.kind == "Pod"

level := "low" if input.review.object.metadata.name

deny contains msg if {
	level == "high"
	msg := sprintf("level %s", [level])
}
