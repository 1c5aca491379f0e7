"""RBAC: the authorizer's semantics (pure), policies from objects, queries."""
