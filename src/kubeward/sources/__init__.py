"""All input I/O: finding files, reading them safely, parsing YAML and JSON as Kubernetes does,
rendering Helm charts and Kustomize directories, and mapping paths in objects to file lines."""
