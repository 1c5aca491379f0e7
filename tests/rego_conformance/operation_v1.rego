package kubeward.operation

import rego.v1

deny contains msg if {
	input.request.operation == "UPDATE"
	old := input.request.oldObject.spec.selector
	new := input.request.object.spec.selector
	old != new
	msg := "spec.selector cannot change"
}

deny contains msg if {
	input.request.operation == "CREATE"
	startswith(input.request.userInfo.username, "system:anonymous")
	msg := sprintf("anonymous user %v creates %v %v", [input.request.userInfo.username, input.request.kind.kind, input.request.name])
}

deny contains msg if {
	some g in input.request.userInfo.groups
	g == "interns"
	input.request.namespace == "prod"
	msg := sprintf("%s is an intern", [input.request.userInfo.username])
}
