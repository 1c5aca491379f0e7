package kubeward.objects

import rego.v1

obj := input.review.object

violation contains {"msg": msg, "details": {"kind": obj.kind}} if {
	not obj.metadata.namespace
	obj.kind != "Namespace"
	msg := sprintf("%s %s has no namespace", [obj.kind, obj.metadata.name])
}

violation contains {"msg": msg} if {
	annotations := object.get(obj, ["metadata", "annotations"], {})
	some key, _ in annotations
	glob.match("*.kubernetes.io/*", ["."], key)
	msg := sprintf("annotation %s", [key])
}

violation contains {"msg": msg} if {
	merged := object.union(object.get(obj, ["metadata", "labels"], {}), {"kubeward": "seen"})
	keys := [k | some k, _ in merged]
	count(keys) > 4
	msg := sprintf("merged labels: %v", [json.marshal(merged)])
}

violation contains {"msg": msg} if {
	paths := [p | walk(obj, [p, v]); v == "latest"]
	count(paths) > 0
	msg := sprintf("'latest' at %v", [paths])
}
