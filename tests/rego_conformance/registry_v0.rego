package kubeward.registry

deny[msg] {
	c := input.request.object.spec.containers[_]
	not startswith(c.image, "registry.example/")
	msg := sprintf("image %v is not from registry.example", [c.image])
}
