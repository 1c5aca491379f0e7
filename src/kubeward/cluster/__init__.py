"""Live clusters: kubeconfig, a small API client, and listing objects for a scan."""
