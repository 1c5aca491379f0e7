"""W: workload hardening (Pod Security Standards, container security context)."""
