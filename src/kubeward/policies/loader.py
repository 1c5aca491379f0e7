"""Policy files → rules.

A policy file (``*.yaml``/``*.yml`` in a policies directory, several documents allowed) holds
``CELPolicy`` documents:

```yaml
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata:
  name: require-team-label            # the rule name (kebab-case)
spec:
  id: ACME001                         # the rule ID: upper-case letters, then digits
  title: Workload has no team label
  severity: medium                    # info, low, medium, high, critical
  remediation: Add a `team` label to the pod template.
  description: Every workload names the team that answers for it.   # optional
  match:
    kinds: [Deployment, StatefulSet]  # and/or
    workloads: true                   # every object with a pod spec
  validations:                        # each false expression is one finding
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: the workload names no team
```

Every problem — YAML, a missing or wrong field, an expression that does not compile, an ID
that is taken — is reported with file and line; the other policies still load. Messages are
static text: a message computed from the object could quote a Secret's value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubeward.errors import RuleEvaluationError
from kubeward.model import K8sObject, Severity, Violation
from kubeward.policies.cel import CelError, CelEvaluationError, Expression
from kubeward.rules import Rule, RuleParams, Scope, Target
from kubeward.yaml_lines import node_line

API_VERSION = "kubeward.io/v1alpha1"
KIND = "CELPolicy"
ID_PATTERN = re.compile(r"^[A-Z]{1,10}\d{3,6}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
POLICY_MODULE = "kubeward.policies.custom"
"""``Rule.module`` prefix of users' policies (``<prefix>:<file>``)."""


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    line: int | None
    message: str


@dataclass(frozen=True)
class CelDefinition:
    """What a CEL policy says, for exporting it (``admission export-vap``)."""

    target: Target
    validations: tuple[tuple[str, str], ...]
    """(expression, message)."""


@dataclass
class LoadedPolicies:
    rules: list[Rule] = field(default_factory=list)
    problems: list[PolicyProblem] = field(default_factory=list)
    definitions: dict[str, CelDefinition] = field(default_factory=dict)
    """By rule ID."""


def policy_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            yield path


def load_policies(paths: Iterable[str | Path], taken: Iterable[str] = ()) -> LoadedPolicies:
    """The rules of every policy under ``paths``; ``taken``: IDs and names already in use."""
    out = LoadedPolicies()
    used = set(taken)
    for path in policy_files(paths):
        shown = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
            documents = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        except (OSError, UnicodeDecodeError) as exc:
            out.problems.append(PolicyProblem(shown, None, f"cannot read policy file: {exc}"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc)
            out.problems.append(PolicyProblem(shown, line, f"invalid YAML: {problem}"))
            continue
        for node, document in zip(nodes, documents, strict=True):
            if document is None or (
                isinstance(document, dict) and document.get("kind") == "PolicyTest"
            ):
                continue  # policy tests live next to the policies (kubeward policy test)
            try:
                rule, definition = _rule(document, node, shown)
            except _Invalid as exc:
                out.problems.append(PolicyProblem(shown, exc.line, str(exc)))
                continue
            clash = {rule.id, rule.name} & used
            if clash:
                line = node.start_mark.line + 1
                what = ", ".join(sorted(clash))
                out.problems.append(PolicyProblem(shown, line, f"{what} is already taken"))
                continue
            used |= {rule.id, rule.name}
            out.rules.append(rule)
            out.definitions[rule.id] = definition
    return out


class _Invalid(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def _text(value: Any, what: str, node: yaml.Node, *path: str | int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{what}: a non-empty string is required", node_line(node, path))
    return value.strip()


def _rule(document: Any, node: yaml.Node, file: str) -> tuple[Rule, CelDefinition]:
    if not isinstance(document, dict):
        raise _Invalid(
            "a policy is a mapping (apiVersion, kind, metadata, spec)", node_line(node, ())
        )
    if document.get("apiVersion") != API_VERSION or document.get("kind") != KIND:
        raise _Invalid(
            f"expected apiVersion: {API_VERSION} and kind: {KIND}", node_line(node, ("kind",))
        )
    raw_meta = document.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = _text(meta.get("name"), "metadata.name", node, "metadata", "name")
    if not NAME_PATTERN.match(name):
        raise _Invalid(f"metadata.name {name!r} is not kebab-case", node_line(node, ("metadata",)))
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise _Invalid("spec is required", node_line(node, ("spec",)))
    known = {"id", "title", "severity", "remediation", "description", "match", "validations"}
    for key in spec:
        if key not in known:
            raise _Invalid(f"spec: unknown field {key!r}", node_line(node, ("spec", str(key))))
    rule_id = _text(spec.get("id"), "spec.id", node, "spec", "id")
    if not ID_PATTERN.match(rule_id):
        raise _Invalid(
            f"spec.id {rule_id!r}: upper-case letters then digits (e.g. ACME001)",
            node_line(node, ("spec", "id")),
        )
    try:
        severity = Severity.parse(_text(spec.get("severity"), "spec.severity", node, "spec"))
    except ValueError as exc:
        raise _Invalid(
            f"spec.severity: {exc}",
            node_line(node, ("spec", "severity")),
        ) from None
    target = _target(spec.get("match"), node)
    checks = _validations(spec.get("validations"), node)
    title = _text(spec.get("title"), "spec.title", node, "spec", "title")
    description = _text(spec.get("description"), "spec.description", node, "spec",
                        "description", required=False)  # fmt: skip
    doc = (
        f"## What it does\n{description or title}\n\n## Why is this bad?\n"
        f"A policy of this organisation ({file}).\n\n## Example\n"
        + "\n".join(f"`{expression.source}`" for expression, _ in checks)
    )
    rule = Rule(
        id=rule_id,
        name=name,
        title=title,
        severity=severity,
        target=target,
        scope=Scope.OBJECT,
        remediation=_text(spec.get("remediation"), "spec.remediation", node, "spec", "remediation"),
        doc=doc,
        module=f"{POLICY_MODULE}:{file}",
        check=_checker(checks),
    )
    return rule, CelDefinition(target, tuple((e.source, m) for e, m in checks))


def _target(match: Any, node: yaml.Node) -> Target:
    if not isinstance(match, dict):
        raise _Invalid(
            "spec.match: kinds and/or workloads: true",
            node_line(node, ("spec", "match")),
        )
    kinds = match.get("kinds") or []
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds):
        raise _Invalid(
            "spec.match.kinds: a list of kinds",
            node_line(node, ("spec", "match", "kinds")),
        )
    workloads = match.get("workloads") is True
    if not kinds and not workloads:
        raise _Invalid(
            "spec.match: name kinds or set workloads: true",
            node_line(node, ("spec", "match")),
        )
    return Target(kinds=frozenset(kinds), workloads=workloads)


def _validations(raw: Any, node: yaml.Node) -> Sequence[tuple[Expression, str]]:
    if not isinstance(raw, list) or not raw:
        raise _Invalid(
            "spec.validations: at least one",
            node_line(node, ("spec", "validations")),
        )
    checks = []
    for index, item in enumerate(raw):
        at = ("spec", "validations", index)
        if not isinstance(item, dict):
            raise _Invalid(
                f"spec.validations[{index}]: expression and message", node_line(node, at)
            )
        source = _text(item.get("expression"), f"spec.validations[{index}].expression", node,
                       *at, "expression")  # fmt: skip
        message = _text(item.get("message"), f"spec.validations[{index}].message", node,
                        *at, "message")  # fmt: skip
        try:
            expression = Expression(source)
        except CelError as exc:
            base = (
                node_line(
                    node,
                    (
                        *at,
                        "expression",
                    ),
                )
                or 0
            )
            # a block scalar starts on the line after the key
            line = base + exc.line - 1 + (1 if "\n" in source else 0)
            raise _Invalid(
                f"spec.validations[{index}].expression: {exc} (column {exc.column})", line
            ) from None
        checks.append((expression, message))
    return checks


def _checker(
    checks: Sequence[tuple[Expression, str]],
) -> Any:
    def check(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
        data = {"object": obj.raw}
        for expression, message in checks:
            try:
                holds = expression.holds(data)
            except CelEvaluationError as exc:
                if obj.kind == "Secret":  # CEL's message could quote a value it failed on
                    raise PolicyRuntimeError(
                        f"{expression.source!r} failed (details withheld for a Secret)"
                    ) from None
                raise PolicyRuntimeError(str(exc)) from None
            if not holds:
                yield Violation((), message)

    return check


class PolicyRuntimeError(RuleEvaluationError):
    """A policy's expression failed on an object: an error result for that object."""
