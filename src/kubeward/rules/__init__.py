"""The rule catalog: every rule kubeward ships, listed explicitly and sorted by ID.

Adding a rule: write ``rules/<family>/<name>.py`` (docstring = documentation, one decorated
function), add fixtures under ``tests/rules/fixtures/<ID>/``, and list it here. The catalog test
checks IDs, names, docs, fixtures and ordering.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from kubeward.rules._base import Rule, RuleParams, Scope, Status, Target
from kubeward.rules.images.untrusted_registry import untrusted_registry
from kubeward.rules.namespaces.default_namespace import default_namespace
from kubeward.rules.secrets.secret_in_env import secret_in_env
from kubeward.rules.serviceaccounts.default_service_account import default_service_account
from kubeward.rules.workload.privileged_container import privileged_container

ALL_RULES: tuple[Rule, ...] = (
    default_service_account,
    untrusted_registry,
    default_namespace,
    secret_in_env,
    privileged_container,
)

REGISTRY: MappingProxyType[str, Rule] = MappingProxyType({r.id: r for r in ALL_RULES})
BY_NAME: MappingProxyType[str, Rule] = MappingProxyType({r.name: r for r in ALL_RULES})


def lookup(key: str) -> Rule | None:
    """Find a rule by ID, alias or name (case-insensitive for IDs)."""
    wanted = key.strip()
    found = REGISTRY.get(wanted.upper()) or BY_NAME.get(wanted)
    if found is not None:
        return found
    for candidate in ALL_RULES:
        if wanted.upper() in candidate.aliases:
            return candidate
    return None


def select(
    rules: Iterable[Rule], *, select: Iterable[str] = (), ignore: Iterable[str] = ()
) -> tuple[Rule, ...]:
    """Rules whose ID starts with a ``select`` prefix (all if none) and no ``ignore`` prefix."""
    chosen = tuple(p.upper() for p in select)
    dropped = tuple(p.upper() for p in ignore)
    return tuple(
        r
        for r in rules
        if (not chosen or r.id.startswith(chosen)) and not (dropped and r.id.startswith(dropped))
    )


__all__ = ["ALL_RULES", "BY_NAME", "REGISTRY", "Rule", "RuleParams", "Scope", "Status", "Target"]
