"""Compliance frameworks as data: each maps its controls to rule IDs (one YAML file each).

A control passes when none of its rules has an active finding, fails when one has, is *manual*
when no rule judges it (it needs a human or a capability kubeward does not have yet), and
*skipped* when all its rules were skipped (e.g. a parameter is not configured).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import msgspec
import yaml

from kubeward.model import ControlResult, Finding, FrameworkResult, RuleSummary


class Control(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    title: str
    rules: list[str]


class Framework(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    title: str
    url: str
    controls: list[Control]
    aliases: list[str] = []

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(r for c in self.controls for r in c.rules)


@cache
def frameworks() -> tuple[Framework, ...]:
    """Every bundled framework, sorted by ID."""
    found = []
    for entry in importlib.resources.files(__name__).iterdir():
        if entry.name.endswith(".yaml"):
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            found.append(msgspec.convert(data, Framework))
    return tuple(sorted(found, key=lambda f: f.id))


@dataclass(frozen=True)
class UnknownFramework(Exception):
    name: str

    def __str__(self) -> str:
        known = ", ".join(f.id for f in frameworks())
        return f"unknown framework {self.name!r} (known: {known})"


def framework(name: str) -> Framework:
    """A framework by ID or alias; raises ``UnknownFramework``."""
    wanted = name.strip().lower()
    for candidate in frameworks():
        if wanted == candidate.id or wanted in candidate.aliases:
            return candidate
    raise UnknownFramework(name)


def evaluate_framework(
    spec: Framework, rules: Iterable[RuleSummary], findings: Iterable[Finding]
) -> FrameworkResult:
    """Per-control status from the scan's rule outcomes and active findings."""
    outcomes = {r.id: r for r in rules}
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.rule_id] = counts.get(finding.rule_id, 0) + 1
    results = []
    for control in spec.controls:
        evaluated = [outcomes[r] for r in control.rules if r in outcomes]
        hits = sum(counts.get(r, 0) for r in control.rules)
        if not evaluated:
            status = "manual"
        elif hits:
            status = "fail"
        elif all(o.skipped and not (o.passed or o.failed) for o in evaluated):
            status = "skipped"
        else:
            status = "pass"
        results.append(
            ControlResult(
                id=control.id,
                title=control.title,
                status=status,
                rules=control.rules,
                findings=hits,
            )
        )
    return FrameworkResult(
        id=spec.id,
        title=spec.title,
        url=spec.url,
        passed=sum(r.status == "pass" for r in results),
        failed=sum(r.status == "fail" for r in results),
        manual=sum(r.status == "manual" for r in results),
        skipped=sum(r.status == "skipped" for r in results),
        controls=results,
    )
