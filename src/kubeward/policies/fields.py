"""What every kind of policy document says the same way: name, ID, title, severity,
remediation, description and match, checked with the file line of each mistake."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from kubeward.errors import RuleEvaluationError
from kubeward.model import Severity
from kubeward.policies.kinds import kind_problem
from kubeward.rules import Rule, Scope, Target
from kubeward.rules._base import ObjectCheck
from kubeward.yaml_lines import node_line

API_VERSION = "kubeward.io/v1alpha1"
ID_PATTERN = re.compile(r"^[A-Z]{1,10}\d{3,6}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
HEADER_FIELDS = frozenset({"id", "title", "severity", "remediation", "description", "match"})
DOCUMENT_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec"})
METADATA_FIELDS = frozenset({"name", "labels", "annotations"})
"""``labels`` and ``annotations`` are for the user's own tools: kubeward does not read them."""
MATCH_FIELDS = frozenset({"kinds", "workloads"})


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    line: int | None
    message: str


class PolicyRuntimeError(RuleEvaluationError):
    """A policy failed on an object (an expression, a Rego evaluation): an error result for
    that object."""


class Invalid(ValueError):
    """A mistake in a policy document, with its line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Header:
    """A policy's identity and documentation, and the objects it judges."""

    name: str
    id: str
    title: str
    severity: Severity
    remediation: str
    description: str
    target: Target

    def rule(self, *, file: str, module: str, example: str, check: ObjectCheck) -> Rule:
        """The object-scope rule of a users' policy, documented like the built-in ones."""
        doc = (
            f"## What it does\n{self.description or self.title}\n\n## Why is this bad?\n"
            f"A policy of this organisation ({file}).\n\n## Example\n{example}"
        )
        return Rule(
            id=self.id, name=self.name, title=self.title, severity=self.severity,
            target=self.target, scope=Scope.OBJECT, remediation=self.remediation, doc=doc,
            module=module, check=check,
        )  # fmt: skip


def text_field(
    value: Any, what: str, node: yaml.Node, *path: str | int, required: bool = True
) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{what}: a non-empty string is required", node_line(node, path))
    return value.strip()


def spec_of(document: Any, node: yaml.Node, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, spec) of a ``kubeward.io/v1alpha1`` document of ``kind``."""
    if not isinstance(document, dict):
        raise Invalid(
            "a policy is a mapping (apiVersion, kind, metadata, spec)", node_line(node, ())
        )
    if document.get("apiVersion") != API_VERSION or document.get("kind") != kind:
        raise Invalid(
            f"expected apiVersion: {API_VERSION} and kind: {kind}", node_line(node, ("kind",))
        )
    unknown(document, DOCUMENT_FIELDS, "", lambda key: node_line(node, (key,)))
    raw_meta = document.get("metadata")
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise Invalid("spec is required", node_line(node, ("spec",)))
    if not isinstance(raw_meta, dict):
        raise Invalid("metadata: a mapping with the policy's name", node_line(node, ("metadata",)))
    unknown(raw_meta, METADATA_FIELDS, "metadata", lambda key: node_line(node, ("metadata", key)))
    return raw_meta, spec


def unknown(
    mapping: Mapping[Any, Any],
    known: frozenset[str],
    what: str,
    line_of: Callable[[str], int | None],
) -> None:
    """``Invalid`` for the first key of ``mapping`` that is not ``known``: a misspelt or
    unsupported field is never ignored."""
    for key in mapping:
        if key not in known:
            where = f"{what}: unknown field" if what else "unknown field"
            choices = ", ".join(sorted(known))
            raise Invalid(f"{where} {key!r} (known: {choices})", line_of(str(key)))


def header(
    meta: Mapping[str, Any], spec: Mapping[str, Any], node: yaml.Node, own_fields: frozenset[str]
) -> Header:
    """The common fields of a ``kubeward.io`` policy document (``spec`` may also hold
    ``own_fields``, which the caller reads)."""
    name = text_field(meta.get("name"), "metadata.name", node, "metadata", "name")
    if not NAME_PATTERN.match(name):
        raise Invalid(f"metadata.name {name!r} is not kebab-case", node_line(node, ("metadata",)))
    unknown(spec, HEADER_FIELDS | own_fields, "spec", lambda key: node_line(node, ("spec", key)))
    rule_id = checked_id(text_field(spec.get("id"), "spec.id", node, "spec", "id"), "spec.id",
                         node_line(node, ("spec", "id")))  # fmt: skip
    severity = checked_severity(
        text_field(spec.get("severity"), "spec.severity", node, "spec"),
        "spec.severity", node_line(node, ("spec", "severity")),
    )  # fmt: skip
    target = target_of(spec.get("match"), lambda *key: node_line(node, ("spec", "match", *key)),
                       "spec.match")  # fmt: skip
    return Header(
        name=name,
        id=rule_id,
        title=text_field(spec.get("title"), "spec.title", node, "spec", "title"),
        severity=severity,
        remediation=text_field(spec.get("remediation"), "spec.remediation", node, "spec",
                               "remediation"),
        description=text_field(spec.get("description"), "spec.description", node, "spec",
                               "description", required=False),
        target=target,
    )  # fmt: skip


def checked_id(rule_id: str, what: str, line: int | None) -> str:
    if not ID_PATTERN.match(rule_id):
        raise Invalid(f"{what} {rule_id!r}: upper-case letters then digits (e.g. ACME001)", line)
    return rule_id


def checked_severity(severity: str, what: str, line: int | None) -> Severity:
    try:
        return Severity.parse(severity)
    except ValueError as exc:
        raise Invalid(f"{what}: {exc}", line) from None


def target_of(match: Any, line_of: Callable[..., int | None], what: str) -> Target:
    """``match`` (``kinds`` and/or ``workloads: true``); ``line_of()`` is the line of
    ``match``, ``line_of(key)`` of one of its keys and ``line_of(key, index)`` of an item."""
    if not isinstance(match, dict):
        raise Invalid(f"{what}: kinds and/or workloads: true", line_of())
    unknown(match, MATCH_FIELDS, what, line_of)
    kinds = match.get("kinds")
    kinds = [] if kinds is None else kinds
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds):
        raise Invalid(f"{what}.kinds: a list of kinds", line_of("kinds"))
    for index, kind in enumerate(kinds):
        problem = kind_problem(kind)
        if problem is not None:
            raise Invalid(f"{what}.kinds: {problem}", line_of("kinds", index))
    workloads = match.get("workloads", False)
    if not isinstance(workloads, bool):
        raise Invalid(f"{what}.workloads: true or false", line_of("workloads"))
    if not kinds and not workloads:
        raise Invalid(f"{what}: name kinds or set workloads: true", line_of())
    return Target(kinds=frozenset(kinds), workloads=workloads)
