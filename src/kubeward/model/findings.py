"""What a scan produces: severities, violations, findings, problems and per-rule outcomes.

These are msgspec ``Struct``s: frozen, keyword-only values like dataclasses, but several times
cheaper to build and encode, which matters at 100,000+ findings per scan. Their field names
become camelCase on the wire, so the JSON report *is* these values (see ``reporters/json.py``).
"""

from __future__ import annotations

import enum
from functools import lru_cache
from typing import NamedTuple

import msgspec

PathPart = str | int
Path = tuple[PathPart, ...]


class Severity(enum.StrEnum):
    """How bad a finding is. Ordered: ``info < low < medium < high < critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse a severity name case-insensitively; raises ``ValueError`` listing the choices."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose one of: {choices})") from None


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Violation(NamedTuple):
    """What a rule yields: where in the object (a path of keys and indices) and what is wrong.

    The engine adds the rule's identity and severity, the object and the file location.
    """

    path: Path
    message: str


@lru_cache(maxsize=65536)
def format_path(path: Path) -> str:
    """Render a path the way ``kubectl explain`` users read it: ``spec.containers[0].image``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif out and ("." in part or "/" in part or " " in part):
            out.append(f"[{part!r}]")
        else:
            out.append(f".{part}" if out else part)
    return "".join(out)


class ObjectRef(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Identity of a Kubernetes object in a report."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    resource_version: str | None = None

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


class RenderedFrom(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Where a rendered object came from (Helm template, Kustomize resource)."""

    tool: str
    """``helm`` or ``kustomize``."""
    root: str
    """The chart or kustomization directory that was rendered."""
    rendered_line: int | None = None
    """The line in the rendered output (Helm); the reported ``line`` is mapped onto ``file``."""


class Suppression(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Why a finding is not counted: an annotation or a configured exception, with its reason."""

    kind: str
    """``annotation`` or ``config``."""
    reason: str
    expires: str | None = None


class Finding(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One rule violated by one object, at one place in it."""

    rule_id: str
    rule_name: str
    severity: Severity
    title: str
    message: str
    object: ObjectRef
    path: str
    file: str | None
    line: int | None
    rendered_from: RenderedFrom | None = None
    suppression: Suppression | None = None


class ProblemKind(enum.StrEnum):
    """What went wrong when something could not be judged."""

    INPUT = "input"
    """A file could not be read (missing, binary, too large, not UTF-8)."""
    PARSE = "parse"
    """A document is not valid YAML/JSON, or exceeds a safety limit."""
    RENDER = "render"
    """Helm or Kustomize failed."""
    OBJECT = "object"
    """A document is not a well-formed Kubernetes object (wrong field types, no kind)."""
    RULE = "rule"
    """A rule raised an exception on an object (a bug in the rule; reported, scan continues)."""
    SUPPRESSION = "suppression"
    """An annotation suppression is malformed, unknown or not allowed."""
    EXCEPTION = "exception"
    """A configured exception is unused or expired."""
    CONFIG = "config"
    """The configuration has a problem that did not stop the scan."""
    COVERAGE = "coverage"
    """Part of a live cluster could not be read (missing permission, kind not served)."""
    REGISTRY = "registry"
    """A registry could not be asked about an image's signatures (the image is not passed)."""


class Problem(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Something kubeward could not judge, or a warning about the scan itself."""

    kind: ProblemKind
    message: str
    file: str | None = None
    line: int | None = None
    rule_id: str | None = None
    object: ObjectRef | None = None


class RuleOutcome(msgspec.Struct, kw_only=True, rename="camel"):
    """Per rule: on how many objects it passed, failed, was skipped or errored."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0
    skip_reasons: list[str] = msgspec.field(default_factory=list)
