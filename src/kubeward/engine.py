"""Evaluating the catalog over an inventory: pure, no I/O, every outcome accounted for.

For each object and each rule that targets it, the outcome is *pass*, *fail*, *skip* (with a
reason, e.g. a parameter is not configured) or *error* (the rule raised: recorded as a problem
for that object, and the scan goes on). Failures become findings, which suppressions (object
annotations, configured exceptions) may move aside with their reason; unused and expired
exceptions and malformed suppressions are reported.
"""

from __future__ import annotations

import fnmatch
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from kubeward.errors import RuleEvaluationError
from kubeward.model import (
    Finding,
    Inventory,
    K8sObject,
    ObjectRef,
    Problem,
    ProblemKind,
    RuleOutcome,
    Severity,
    Suppression,
    Violation,
    format_path,
)
from kubeward.model.shape import shape_errors
from kubeward.rules import lookup
from kubeward.rules._base import Rule, RuleParams, Scope

IGNORE_ANNOTATION_PREFIX = "kubeward.io/ignore."


def utc_today() -> date:
    """The date exceptions expire by: UTC's, so that a scan, an audit and the webhook agree
    wherever they run (a CI runner and a cluster node rarely share a time zone)."""
    return datetime.now(UTC).date()


@dataclass(frozen=True, kw_only=True)
class PolicyException:
    """A configured exception: findings of ``rules`` on matching objects are not counted."""

    rules: tuple[str, ...]
    """Rule IDs or ID prefixes (``W001``, ``W``)."""
    reason: str
    namespaces: tuple[str, ...] = ()
    """Namespace globs (``kube-*``); empty = any."""
    kinds: tuple[str, ...] = ()
    """Kinds (``Deployment``), matched case-insensitively as kubectl does; empty = any."""
    names: tuple[str, ...] = ()
    """Object name globs; empty = any."""
    expires: date | None = None
    """The last day it applies (UTC: :func:`utc_today`)."""
    file: str | None = None
    line: int | None = None

    def covers(self, rule_id: str, obj: K8sObject) -> bool:
        if not rule_id.startswith(self.rules):
            return False
        if self.kinds and obj.kind.lower() not in (k.lower() for k in self.kinds):
            return False
        if self.namespaces:
            namespace = _namespace_of(obj)
            if namespace is None or not any(
                fnmatch.fnmatchcase(namespace, p) for p in self.namespaces
            ):
                return False
        return not self.names or any(fnmatch.fnmatchcase(obj.name, p) for p in self.names)

    def expired(self, today: date) -> bool:
        """Expired once ``expires`` is past: the day itself is still covered."""
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        parts = [f"rules {', '.join(self.rules)}"]
        if self.kinds:
            parts.append(f"kinds {', '.join(self.kinds)}")
        if self.namespaces:
            parts.append(f"namespaces {', '.join(self.namespaces)}")
        if self.names:
            parts.append(f"names {', '.join(self.names)}")
        return "exception for " + "; ".join(parts)


def _namespace_of(obj: K8sObject) -> str | None:
    """The namespace an exception's ``namespaces`` judges ``obj`` by, None for none.

    A manifest without a namespace lands in `default` unless told otherwise, as the rules read
    it (N001). A Namespace is in itself: an exception for ``payments`` covers the Namespace
    ``payments`` too (N002, N011). Any other cluster-scoped object is in no namespace, and no
    pattern matches it, not even ``*``: a ClusterRoleBinding reaches every namespace, and
    waiving it takes an exception without ``namespaces``."""
    if obj.namespace_source == "unset":
        return "default"
    if obj.namespace_source == "cluster":
        return obj.name if obj.kind == "Namespace" else None
    return obj.namespace or ""


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    params: RuleParams = field(default_factory=RuleParams)
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)
    exceptions: tuple[PolicyException, ...] = ()
    allow_inline_suppressions: bool = True
    today: date = field(default_factory=utc_today)
    policies: tuple[Rule, ...] = ()
    """Users' policies loaded for this run, selected or not: a ``kubeward.io/ignore.<ID>``
    annotation may name them (by ID or name) as it names built-in rules. The rules being
    evaluated are known in any case."""
    unread: frozenset[tuple[str, str | None]] = frozenset()
    """(kind, namespace) a live scan could not read (coverage gaps; namespace None =
    cluster-wide): inventory rules that read such a kind do not judge there (``Rule.reads``)."""


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    outcomes: dict[str, RuleOutcome] = field(default_factory=dict)
    exception_hits: dict[int, int] = field(default_factory=dict)
    """Per configured exception (by position): findings it suppressed."""
    expired_hits: dict[int, int] = field(default_factory=dict)
    """Per expired exception: findings it would have suppressed."""


def merge(parts: Sequence[Evaluation]) -> Evaluation:
    """Combine evaluations of disjoint object sets (or of different rule scopes)."""
    out = Evaluation()
    for part in parts:
        out.findings.extend(part.findings)
        out.suppressed.extend(part.suppressed)
        out.errors.extend(part.errors)
        out.warnings.extend(part.warnings)
        for rule_id, outcome in part.outcomes.items():
            total = out.outcomes.setdefault(rule_id, RuleOutcome())
            total.passed += outcome.passed
            total.failed += outcome.failed
            total.skipped += outcome.skipped
            total.errored += outcome.errored
            for reason in outcome.skip_reasons:
                if reason not in total.skip_reasons:
                    total.skip_reasons.append(reason)
        for counts, more in (
            (out.exception_hits, part.exception_hits),
            (out.expired_hits, part.expired_hits),
        ):
            for index, hits in more.items():
                counts[index] = counts.get(index, 0) + hits
    return out


_Prepared = tuple[Rule, Callable[..., Iterator[Violation]], RuleOutcome, bool, bool]


@dataclass
class _InlineSuppressions:
    reasons: dict[str, str]
    where: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """By rule ID: the annotation's key and line."""
    used: set[str] = field(default_factory=set)


def _crash_summary(exc: BaseException) -> str:
    """Type and place of a rule crash, without its message (which could quote a value)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


class _Evaluator:
    def __init__(
        self,
        inventory: Inventory,
        rules: Sequence[Rule],
        settings: EngineSettings,
        *,
        object_phase: bool = True,
    ) -> None:
        self.inventory = inventory
        self.object_phase = object_phase
        """Check object shapes and annotation syntax (once per object, in the object phase)."""
        self.rules = tuple(rules)
        self.settings = settings
        self.result = Evaluation(outcomes={r.id: RuleOutcome() for r in self.rules})
        self.skip_reason = {
            r.id: (r.skip_unless(settings.params) if r.skip_unless is not None else None)
            for r in self.rules
        }
        for rule in self.rules:
            reason = self.skip_reason[rule.id]
            if reason:
                self.result.outcomes[rule.id].skip_reasons.append(reason)
        self.exceptions_by_rule = {
            r.id: tuple(e for e in settings.exceptions if r.id.startswith(e.rules))
            for r in self.rules
        }
        self.exception_hits = self.result.exception_hits
        self.exception_index = {id(e): i for i, e in enumerate(settings.exceptions)}
        self.expired_hits = self.result.expired_hits
        self.severity = {
            r.id: settings.severity_overrides.get(r.id, r.severity) for r in self.rules
        }
        self._targets: dict[tuple[str, bool], tuple[_Prepared, ...]] = {}
        unread_kinds = {kind for kind, _ in settings.unread}
        self.blocked = {
            r.id: r.reads & unread_kinds
            for r in self.rules
            if r.scope is Scope.INVENTORY and r.reads & unread_kinds
        }
        """Inventory rules that read a kind some part of which could not be read."""
        self.policies: dict[str, Rule] = {}
        """Users' policies an ignore annotation may name, by ID and by name."""
        for known in (*settings.policies, *self.rules):
            self.policies.setdefault(known.id, known)
            self.policies.setdefault(known.name, known)

    def named(self, wanted: str) -> Rule | None:
        """The rule an ignore annotation names: a built-in one (ID, alias or name) or a user's
        policy of this run (ID or name)."""
        key = wanted.strip()
        return lookup(key) or self.policies.get(key.upper()) or self.policies.get(key)

    def applicable(self, obj: K8sObject) -> tuple[_Prepared, ...]:
        """The rules that target ``obj``, prepared for the hot loop (cached per kind)."""
        key = (obj.kind, obj.pod_spec is not None)
        found = self._targets.get(key)
        if found is None:
            found = tuple(
                (
                    rule,
                    rule.check,
                    self.result.outcomes[rule.id],
                    bool(self.skip_reason[rule.id]),
                    rule.scope is Scope.INVENTORY,
                )
                for rule in self.rules
                if rule.target.matches(obj)
            )
            self._targets[key] = found
        return found

    def not_judged(self, rule: Rule, obj: K8sObject, outcome: RuleOutcome) -> bool:
        """Whether a kind ``rule`` reads is unread where ``obj`` is (then counted as skipped):
        "no NetworkPolicy selects these pods" is not known when NetworkPolicies were unread."""
        namespace = obj.name if obj.kind == "Namespace" else obj.namespace
        unread = self.settings.unread
        kinds = sorted(
            kind
            for kind in self.blocked[rule.id]
            if (kind, None) in unread or (namespace is not None and (kind, namespace) in unread)
        )
        if not kinds:
            return False
        outcome.skipped += 1
        reason = f"not judged where {', '.join(kinds)} could not be read (coverage gap)"
        if reason not in outcome.skip_reasons:
            outcome.skip_reasons.append(reason)
        return True

    def inline_suppressions(self, obj: K8sObject) -> _InlineSuppressions | None:
        own, template = obj.annotations, obj.pod_template_annotations
        prefix = IGNORE_ANNOTATION_PREFIX
        if not any(k.startswith(prefix) for k in own) and not any(
            k.startswith(prefix) for k in template
        ):
            return None
        annotations = {**template, **own}
        reasons: dict[str, str] = {}
        where_found: dict[str, tuple[str, int | None]] = {}
        for key, reason in annotations.items():
            if not key.startswith(prefix):
                continue
            wanted = key[len(IGNORE_ANNOTATION_PREFIX) :]
            found = self.named(wanted)
            spec_path = obj.pod_spec_path
            where = (
                ("metadata",) if key in own or spec_path is None else (*spec_path[:-1], "metadata")
            )
            line = obj.origin.lines([(*where, "annotations", key)])[0]
            if not self.settings.allow_inline_suppressions:
                self.warn(
                    obj, line,
                    f"annotation {key} ignored: in-manifest suppressions are disabled "
                    "(allowInlineSuppressions: false in kubeward.yaml)",
                )  # fmt: skip
                continue
            if found is None:
                self.warn(obj, line, f"annotation {key} names no known rule")
                continue
            if not found.waivable_in_manifest:
                self.warn(
                    obj, line,
                    f"annotation {key} ignored: {found.id} cannot be waived in a manifest "
                    "(an exception in kubeward.yaml can)",
                )  # fmt: skip
                continue
            if not isinstance(reason, str) or not reason.strip():
                self.warn(
                    obj, line,
                    f"annotation {key} has no reason and is not honoured: "
                    'write why, e.g. "needed by the CNI agent, ticket OPS-12"',
                )  # fmt: skip
                continue
            reasons[found.id] = reason.strip()
            where_found[found.id] = (key, line)
        return _InlineSuppressions(reasons, where_found)

    def warn(self, obj: K8sObject, line: int | None, message: str) -> None:
        """A warning about an annotation itself: reported once, in the object phase."""
        if self.object_phase:
            self.note(obj, line, message)

    def note(self, obj: K8sObject, line: int | None, message: str) -> None:
        self.result.warnings.append(
            Problem(
                kind=ProblemKind.SUPPRESSION,
                file=obj.origin.file,
                line=line,
                message=message,
                object=obj.ref,
            )
        )

    def suppression_for(
        self, rule: Rule, obj: K8sObject, inline: _InlineSuppressions | None
    ) -> Suppression | None:
        if inline is not None and rule.id in inline.reasons:
            inline.used.add(rule.id)
            return Suppression(kind="annotation", reason=inline.reasons[rule.id])
        for exception in self.exceptions_by_rule[rule.id]:
            if not exception.covers(rule.id, obj):
                continue
            index = self.exception_index[id(exception)]
            if exception.expired(self.settings.today):
                self.expired_hits[index] = self.expired_hits.get(index, 0) + 1
                continue
            self.exception_hits[index] = self.exception_hits.get(index, 0) + 1
            return Suppression(
                kind="config",
                reason=exception.reason,
                expires=exception.expires.isoformat() if exception.expires else None,
            )
        return None

    def evaluate(self, obj: K8sObject) -> None:
        params = self.settings.params
        ref: ObjectRef | None = None
        shape = shape_errors(obj) if self.object_phase else None
        if shape:
            ref = obj.ref
            lines = obj.origin.lines([path for path, _ in shape])
            for (path, message), line in zip(shape, lines, strict=True):
                self.result.errors.append(
                    Problem(
                        kind=ProblemKind.OBJECT,
                        file=obj.origin.file,
                        line=line,
                        message=f"{obj.display}: {format_path(path)} {message}",
                        object=ref,
                    )
                )
        inline = self.inline_suppressions(obj)
        evaluated: set[str] = set()
        failed: list[tuple[Rule, list[Violation]]] = []
        inventory = self.inventory
        for rule, check, outcome, skip, inventory_scope in self.applicable(obj):
            if skip:
                outcome.skipped += 1
                continue
            if inventory_scope and rule.id in self.blocked and self.not_judged(rule, obj, outcome):
                continue
            if inline is not None:
                evaluated.add(rule.id)
            try:
                if inventory_scope:
                    violations = list(check(obj, inventory, params))
                else:
                    violations = list(check(obj, params))
            except Exception as exc:  # a rule bug must cost one result, not the scan
                outcome.errored += 1
                if isinstance(exc, RuleEvaluationError):
                    message = f"rule {rule.id} ({rule.name}) could not judge {obj.display}: {exc}"
                else:
                    message = (
                        f"rule {rule.id} ({rule.name}) crashed on {obj.display} "
                        f"({_crash_summary(exc)}); this is a kubeward bug, please report it"
                    )
                self.result.errors.append(
                    Problem(
                        kind=ProblemKind.RULE,
                        file=obj.origin.file,
                        line=obj.origin.line,
                        rule_id=rule.id,
                        object=obj.ref,
                        message=message,
                    )
                )
                continue
            if violations:
                failed.append((rule, violations))
            else:
                outcome.passed += 1
        if failed:
            self.record(obj, ref or obj.ref, failed, inline)
        if inline is not None:
            for rule_id in sorted((inline.reasons.keys() - inline.used) & evaluated):
                key, line = inline.where[rule_id]
                self.note(
                    obj, line,
                    f"annotation {key} suppresses nothing: {rule_id} finds no problem here "
                    "(remove it)",
                )  # fmt: skip

    def record(
        self,
        obj: K8sObject,
        ref: ObjectRef,
        failed: list[tuple[Rule, list[Violation]]],
        inline: _InlineSuppressions | None,
    ) -> None:
        outcomes = self.result.outcomes
        findings, suppressed = self.result.findings, self.result.suppressed
        # Several rules often point at the same place (a container, its securityContext): each
        # distinct path is located and rendered once, and looked up once per finding.
        unique = list(dict.fromkeys(v.path for _, violations in failed for v in violations))
        where = {
            path: (format_path(path), line)
            for path, line in zip(unique, obj.origin.lines(unique), strict=True)
        }
        file = obj.origin.file
        rendered = obj.origin.rendered_from
        severity = self.severity
        exceptions = self.exceptions_by_rule
        for rule, violations in failed:
            rule_id = rule.id
            suppressible = inline is not None or bool(exceptions[rule_id])
            active = False
            for violation in violations:
                suppression = self.suppression_for(rule, obj, inline) if suppressible else None
                path, line = where[violation.path]
                finding = Finding(
                    rule_id=rule_id,
                    rule_name=rule.name,
                    severity=severity[rule_id],
                    title=rule.title,
                    message=violation.message,
                    object=ref,
                    path=path,
                    file=file,
                    line=line,
                    rendered_from=rendered,
                    suppression=suppression,
                )
                if suppression is None:
                    findings.append(finding)
                    active = True
                else:
                    suppressed.append(finding)
            # A rule whose every finding here is suppressed counts as passed on this object.
            if active:
                outcomes[rule_id].failed += 1
            else:
                outcomes[rule_id].passed += 1


def finalize(evaluation: Evaluation, settings: EngineSettings) -> Evaluation:
    """Add the warnings about configured exceptions that matched nothing or have expired."""
    for index, exception in enumerate(settings.exceptions):
        if exception.expired(settings.today):
            hits = evaluation.expired_hits.get(index, 0)
            message = (
                f"{exception.describe()} expired after {exception.expires} (its last day); "
                f"{hits} finding(s) it covered are reported again"
            )
        elif evaluation.exception_hits.get(index, 0) == 0:
            message = f"{exception.describe()} matched no finding (unused: remove it)"
        else:
            continue
        evaluation.warnings.append(
            Problem(
                kind=ProblemKind.EXCEPTION,
                file=exception.file,
                line=exception.line,
                message=message,
            )
        )
    return evaluation


def evaluate(
    inventory: Inventory,
    rules: Iterable[Rule],
    settings: EngineSettings | None = None,
    *,
    objects: Iterable[K8sObject] | None = None,
    scope: Scope | None = None,
    final: bool = True,
) -> Evaluation:
    """Run ``rules`` over the objects of ``inventory``.

    ``objects`` limits the run to some objects (inventory-scope rules still see the whole
    inventory) and ``scope`` to the rules of one scope. Evaluations of parts are combined with
    ``merge`` and completed with ``finalize`` (``final=True`` does it here). Object shapes are
    checked whenever object-scope rules run.
    """
    settings = settings or EngineSettings()
    if settings.params.namespaces is None:
        # users' CEL policies see the Namespace of the object they judge (``namespaceObject``)
        settings = replace(settings, params=replace(settings.params, namespaces=inventory))
    chosen = tuple(r for r in rules if scope is None or r.scope is scope)
    evaluator = _Evaluator(inventory, chosen, settings, object_phase=scope is not Scope.INVENTORY)
    for obj in inventory if objects is None else objects:
        evaluator.evaluate(obj)
    return finalize(evaluator.result, settings) if final else evaluator.result
