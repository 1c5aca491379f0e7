"""Meta-tests of the rule catalog: identity, naming, docs, ordering, fixtures, stability."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import kubeward.rules
from kubeward.rules import ALL_RULES, REGISTRY
from kubeward.rules._base import ID_PATTERN, NAME_PATTERN, REQUIRED_SECTIONS, Rule

LOCK = Path(__file__).parent / "rules" / "rules.lock"


def test_ids_are_unique_well_formed_and_sorted() -> None:
    ids = [r.id for r in ALL_RULES]
    assert len(ids) == len(set(ids))
    assert all(ID_PATTERN.match(i) for i in ids)
    assert ids == sorted(ids), "keep ALL_RULES sorted by ID"
    names = [r.name for r in ALL_RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_rule_shape(rule: Rule) -> None:
    assert NAME_PATTERN.match(rule.name)
    module_name = rule.module.rsplit(".", 1)[-1]
    assert module_name == rule.name.replace("-", "_"), "module = function = name"
    assert rule.check.__name__ == module_name
    for section in REQUIRED_SECTIONS:
        assert section in rule.doc, f"{rule.id}: doc lacks {section!r}"
    assert rule.remediation.endswith("."), f"{rule.id}: remediation must be a sentence"
    assert rule.title and rule.title[0].isupper() and not rule.title.endswith(".")
    family = rule.module.split(".")[2]
    assert family in {
        "workload",
        "serviceaccounts",
        "namespaces",
        "images",
        "secrets",
        "rbac",
        "network",
        "mesh",
        "node",
    }


def test_every_rule_module_is_in_the_catalog() -> None:
    listed = {r.module for r in ALL_RULES}
    found = set()
    for info in pkgutil.walk_packages(kubeward.rules.__path__, "kubeward.rules."):
        leaf = info.name.rsplit(".", 1)[-1]
        if info.ispkg or leaf.startswith("_") or "._common" in info.name:
            continue
        module = importlib.import_module(info.name)
        if any(isinstance(v, Rule) for v in vars(module).values()):
            found.add(info.name)
    assert found == listed


def test_ids_are_never_reused() -> None:
    """rules.lock lists every ID ever issued with its name; an ID keeps its name forever."""
    issued = dict(
        line.split() for line in LOCK.read_text().splitlines() if line and not line.startswith("#")
    )
    for rule in ALL_RULES:
        assert issued.get(rule.id) == rule.name, f"add '{rule.id} {rule.name}' to {LOCK.name}"
    for rule_id in issued:
        if rule_id not in REGISTRY:
            assert not any(rule_id in r.aliases for r in ALL_RULES)


def test_lock_is_sorted() -> None:
    lines = [line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    assert lines == sorted(lines, key=lambda x: x.split()[0])
    assert all(re.match(r"^[A-Z]\d{3} [a-z0-9-]+$", line) for line in lines)


def test_frameworks_reference_existing_rules() -> None:
    from kubeward.frameworks import frameworks

    names = set()
    for spec in frameworks():
        for name in (spec.id, *spec.aliases):
            assert name not in names, f"framework name {name} is used twice"
            names.add(name)
        ids = [c.id for c in spec.controls]
        assert len(ids) == len(set(ids)), f"{spec.id}: duplicate control IDs"
        for control in spec.controls:
            unknown = [r for r in control.rules if r not in REGISTRY]
            assert not unknown, f"{spec.id} {control.id}: unknown rules {unknown}"
    assert {
        "cis-1.10",
        "nsa-cisa-1.2",
        "pss-baseline",
        "pss-restricted",
        "mitre-attack-containers",
    } <= names
