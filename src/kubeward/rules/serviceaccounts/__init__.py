"""A: service accounts (default service account, token automount, sharing)."""
