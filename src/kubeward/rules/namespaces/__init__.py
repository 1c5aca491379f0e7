"""N: namespaces and network isolation."""
