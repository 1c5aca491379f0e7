"""The rule catalog: every rule kubeward ships, listed explicitly and sorted by ID.

Adding a rule: write ``rules/<family>/<name>.py`` (docstring = documentation, one decorated
function), list it in ``RULES`` of ``rules/<family>/__init__.py``, add fixtures under
``tests/rules/fixtures/<ID>/`` and the ID to ``tests/rules/rules.lock``. The catalog test
checks IDs, names, docs, fixtures and the lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from kubeward.rules import images, namespaces, rbac, secrets, serviceaccounts, workload
from kubeward.rules._base import Rule, RuleParams, Scope, Status, Target

ALL_RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *serviceaccounts.RULES,
            *images.RULES,
            *namespaces.RULES,
            *rbac.RULES,
            *secrets.RULES,
            *workload.RULES,
        ),
        key=lambda r: r.id,
    )
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
