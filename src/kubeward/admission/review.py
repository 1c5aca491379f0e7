"""An AdmissionReview in, the webhook's answer out.

The object of a CREATE or UPDATE is judged by the catalog's object-scope rules, exactly as a
manifest scan judges it (same rules, parameters and configured exceptions); each finding then
takes its rule's admission action: deny (HTTP 403 with the rule IDs and messages), warn
(``warnings``, printed by kubectl), audit (``auditAnnotations``, in the API server's audit log)
or off. Inventory-scope rules need the whole cluster and are reported as skipped in the audit
annotations, never silently passed. Secret values are replaced by a marker (keys kept) before
anything looks at the object or the old object, so none can reach a message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import orjson

from kubeward.cluster.live import LIVE_ORIGIN
from kubeward.engine import EngineSettings, evaluate, utc_today
from kubeward.model import Finding, Inventory, K8sObject, Problem
from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.model.objects import CONTAINER_LISTS, pod_spec_path
from kubeward.model.secrets import without_secret_values
from kubeward.policies.cel_isolation import ahead as cel_policies_ahead
from kubeward.policies.rego_policies import RegoCheck, judged_ahead
from kubeward.rules import Rule, Scope
from kubeward.terminal import printable

log = logging.getLogger("kubeward.admission")

REVIEW_API_VERSION = "admission.k8s.io/v1"
MAX_BODY_BYTES = 8 * 1024 * 1024
"""The API server refuses objects over 3 MiB (etcd's request limit); a review carries the object
and, on UPDATE, the old one, plus request metadata: 8 MiB is generous and still bounded."""
MAX_MESSAGE_CHARS = 2000
"""The deny message and each audit annotation (``findings``, ``errors``): what does not fit is
counted, not sent. An audit event over ``--audit-log-truncate-max-event-size`` (kube-apiserver,
default 102400 bytes, when truncation is on) loses its request and response, then is discarded
whole: one oversized annotation must not cost the record of the request."""
MAX_WARNING_CHARS = 256
MAX_WARNINGS = 20
MAX_WARNINGS_TOTAL_CHARS = MAX_MESSAGE_CHARS
"""Warnings: each at most 256 characters, at most 20, 2,000 characters in all. The API server
keeps 4,096 characters of warnings per request from all sources (other webhooks, deprecations)
and, once over, cuts each to 256 and drops the rest (Kubernetes docs, "Dynamic Admission
Control", Response: warnings; k8s.io/apiserver endpoints/filters/warning.go): within these
bounds kubeward's warnings, with the one saying how many were left out, arrive whole."""
JUDGED_OPERATIONS = frozenset({"CREATE", "UPDATE"})
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
"""What an ``admission.k8s.io/v1`` request can say it does (the API server's Operation enum)."""
MAX_CONTAINERS = 1000
MAX_VOLUMES = 1000
"""Per pod spec: containers (init, regular and ephemeral together) and volumes. Kubernetes sets
no limit; a real pod has a handful and the API server's 3 MiB request bound allows tens of
thousands, each judged by every container rule: 55,000 minimal containers took 6 s on the
event loop, over the webhook's timeout, and /healthz waited. At 1,000 a review is judged in
about 0.1 s; a pod over the bound is not judged and counts as a rule that could not judge
(``admission.onError``)."""


class ReviewError(ValueError):
    """The body is not a usable AdmissionReview (the server answers HTTP 400 with this)."""


@dataclass(frozen=True, kw_only=True)
class AdmissionRequest:
    uid: str
    operation: str
    kind: str
    namespace: str
    name: str
    sub_resource: str
    user: str
    groups: tuple[str, ...]
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None
    dry_run: bool
    document: dict[str, Any] = field(default_factory=dict)
    """The ``request`` as sent (users' policies read operation, userInfo, oldObject...)."""

    def describe(self) -> str:
        """``Pod shop/web (ephemeralcontainers)``, for logs and messages: the client's strings
        with every control character shown as its escape, so none can forge a log line."""
        where = f"{self.namespace}/" if self.namespace else ""
        sub = f" ({self.sub_resource})" if self.sub_resource else ""
        return printable(f"{self.kind} {where}{self.name or '(generated name)'}{sub}")


def parse(body: bytes) -> AdmissionRequest:
    """The request of an ``admission.k8s.io/v1`` AdmissionReview; ``ReviewError`` otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise ReviewError(f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    try:
        review = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReviewError(f"the body is not JSON: {exc}") from None
    if not isinstance(review, dict):
        raise ReviewError("the body is not a JSON object")
    if review.get("kind") != "AdmissionReview":
        raise ReviewError(f"kind is {_shown(review.get('kind'))}, expected 'AdmissionReview'")
    if review.get("apiVersion") != REVIEW_API_VERSION:
        raise ReviewError(
            f"apiVersion is {_shown(review.get('apiVersion'))}, expected {REVIEW_API_VERSION!r} "
            "(set admissionReviewVersions: [v1] in the webhook configuration)"
        )
    request = review.get("request")
    if not isinstance(request, dict):
        raise ReviewError("request is missing or not an object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid is missing")
    operation = request.get("operation")
    if not isinstance(operation, str) or not operation:
        raise ReviewError("request.operation is missing")
    if operation not in OPERATIONS:
        raise ReviewError(
            f"request.operation is {_shown(operation)}, expected one of {', '.join(OPERATIONS)}"
        )
    obj, old = request.get("object"), request.get("oldObject")
    if obj is not None and not isinstance(obj, dict):
        raise ReviewError("request.object is not an object")
    if old is not None and not isinstance(old, dict):
        raise ReviewError("request.oldObject is not an object")
    if operation in JUDGED_OPERATIONS and obj is None:
        raise ReviewError(f"request.object is missing for {operation}")
    kind = request.get("kind")
    user_info = request.get("userInfo")
    user_info = user_info if isinstance(user_info, dict) else {}
    groups = user_info.get("groups")
    return AdmissionRequest(
        uid=uid,
        operation=operation,
        kind=str(kind.get("kind", "")) if isinstance(kind, dict) else "",
        namespace=_text(request.get("namespace")),
        name=_text(request.get("name")),
        sub_resource=_text(request.get("subResource")),
        user=_text(user_info.get("username")),
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
        object=obj,
        old_object=old,
        dry_run=request.get("dryRun") is True,
        document=request,
    )


def over_bounds(request: AdmissionRequest) -> str | None:
    """Why the request's object (or old object) is too large to judge, or None: more than
    ``MAX_CONTAINERS`` containers or ``MAX_VOLUMES`` volumes in its pod spec."""
    for which, obj in (("", request.object), ("the old object: ", request.old_object)):
        if obj is None:
            continue
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        path = pod_spec_path(_text(api_version), _text(kind), obj)
        spec: Any = obj
        for key in path or ():
            spec = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            continue
        containers = sum(
            len(items) for name in CONTAINER_LISTS if isinstance(items := spec.get(name), list)
        )
        if containers > MAX_CONTAINERS:
            return (
                f"{which}{containers:,} containers in the pod spec (init, regular and ephemeral "
                f"together), over kubeward's bound of {MAX_CONTAINERS:,}: not judged"
            )
        volumes = spec.get("volumes")
        if isinstance(volumes, list) and len(volumes) > MAX_VOLUMES:
            return (
                f"{which}{len(volumes):,} volumes in the pod spec, over kubeward's bound of "
                f"{MAX_VOLUMES:,}: not judged"
            )
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class Judged(NamedTuple):
    """One object judged: what it violates, what could not be judged, what was waived."""

    findings: list[Finding]
    errors: list[Problem]
    suppressed: list[Finding]


def _shown(value: object) -> str:
    """A client's value in an error message: quoted, control characters escaped, cut to 64
    characters (a body may hold megabytes where a short name is expected)."""
    if value is None:
        return "missing"
    if not isinstance(value, str):
        return f"a JSON {_JSON_TYPES.get(type(value), 'value')}"
    return f"'{printable(value[:64])}{'…' if len(value) > 64 else ''}'"


_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


@dataclass
class Verdict:
    """What the webhook decided, and why."""

    allowed: bool = True
    denied: list[Finding] = field(default_factory=list)
    warned: list[Finding] = field(default_factory=list)
    audited: list[Finding] = field(default_factory=list)
    existing: int = 0
    """Findings the old object had already (not refused under allowExistingViolations)."""
    suppressed: list[Finding] = field(default_factory=list)
    """Findings an annotation or a configured exception waived (recorded in the audit log)."""
    exempt: str | None = None
    skipped_rules: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    """Rules that could not judge the object (a policy that failed on it, a crash)."""
    refused_on_error: bool = False
    """An error of a deny rule refused the request (``admission.onError: deny``)."""


class _NoNamespaces:
    def namespace_object(self, name: str) -> dict[str, Any] | None:
        return None


_NO_NAMESPACES = _NoNamespaces()


class Reviewer:
    """Judges requests with a fixed catalog and configuration (one per server)."""

    def __init__(
        self, rules: Sequence[Rule], engine: EngineSettings, settings: AdmissionSettings
    ) -> None:
        active = [r for r in rules if settings.action_for(r.id) is not Action.OFF]
        self.rules = tuple(r for r in active if r.scope is Scope.OBJECT)
        self.rego_rules = tuple(r for r in self.rules if isinstance(r.check, RegoCheck))
        """Users' Rego policies: evaluated in their sandbox while the other rules run."""
        self.skipped_rules = tuple(r.id for r in active if r.scope is not Scope.OBJECT)
        if engine.params.namespaces is None:
            # No Namespaces known (the server watches them only for policies that read
            # namespaceObject): said once here rather than by the engine on every review.
            engine = replace(engine, params=replace(engine.params, namespaces=_NO_NAMESPACES))
        self.engine = engine
        self.settings = settings

    def decide(self, request: AdmissionRequest) -> Verdict:
        verdict = Verdict(skipped_rules=self.skipped_rules)
        if request.operation not in JUDGED_OPERATIONS or request.object is None:
            return verdict
        verdict.exempt = self.settings.exemption(request.namespace, request.user, request.groups)
        if verdict.exempt is not None:
            return verdict
        too_large = over_bounds(request)
        if too_large is not None:  # as a rule that could not judge: admission.onError decides
            log.warning("%s: %s", request.describe(), too_large)
            verdict.errors = [too_large]
            verdict.refused_on_error = self._refused_on_error(rule.id for rule in self.rules)
            verdict.allowed = not verdict.refused_on_error
            return verdict
        # a long-running server: exceptions expire by today's date, not the start-up date, and
        # by UTC's as in a scan (the node's time zone would make them expire hours apart)
        engine = replace(self.engine, today=utc_today())
        old = request.old_object
        context = {
            **request.document,
            "object": without_secret_values(request.object),
            "oldObject": without_secret_values(old) if old is not None else None,
        }
        findings, errors, verdict.suppressed = self._judge(context, request.namespace, engine)
        verdict.errors = [problem.message for problem in errors]
        # a rule that could not judge could have denied: never pass that silently
        verdict.refused_on_error = self._refused_on_error(p.rule_id or "" for p in errors)
        if request.old_object is not None and self.settings.allow_existing_violations:
            # the old object is judged as the object of the same request, with nothing before it
            before_context = {**context, "object": context["oldObject"], "oldObject": None}
            before, _, _ = self._judge(before_context, request.namespace, engine)
            # the same rule, place and message: a container swapped for another at the same
            # index (another image, another name) is a new violation, not an existing one
            had = {(f.rule_id, f.path, f.message) for f in before}
            new = [f for f in findings if (f.rule_id, f.path, f.message) not in had]
            verdict.existing = len(findings) - len(new)
            findings = new
        for finding in findings:
            action = self.settings.action_for(finding.rule_id)
            if action is Action.DENY:
                verdict.denied.append(finding)
            elif action is Action.WARN:
                verdict.warned.append(finding)
            elif action is Action.AUDIT:
                verdict.audited.append(finding)
        verdict.allowed = not verdict.denied and not verdict.refused_on_error
        return verdict

    def _refused_on_error(self, rule_ids: Iterable[str]) -> bool:
        """Whether rules that could not judge refuse the request: ``admission.onError`` is
        deny and one of them would have denied."""
        return self.settings.deny_on_error and any(
            self.settings.action_for(rule_id) is Action.DENY for rule_id in rule_ids
        )

    def _judge(self, context: dict[str, Any], namespace: str, engine: EngineSettings) -> Judged:
        """Judge ``context["object"]`` (Secret values removed already); ``context`` is the
        request that carries it."""
        obj = K8sObject(
            context["object"], LIVE_ORIGIN, deploy_namespace=namespace or None, admission=context
        )
        # users' Rego and isolated CEL policies start in their processes while the catalog runs
        with judged_ahead(self.rego_rules, obj), cel_policies_ahead(obj, engine.params):
            evaluation = evaluate(Inventory([obj]), self.rules, engine)
        return Judged(evaluation.findings, evaluation.errors, evaluation.suppressed)


def response(request: AdmissionRequest, verdict: Verdict) -> dict[str, Any]:
    """The AdmissionReview answer: ``uid`` echoed, the decision, its reasons."""
    answer: dict[str, Any] = {"uid": request.uid, "allowed": verdict.allowed}
    if not verdict.allowed:
        answer["status"] = {
            "status": "Failure",
            "code": 403,
            "reason": "Forbidden",
            "message": deny_message(
                request, verdict.denied, verdict.errors if verdict.refused_on_error else ()
            ),
        }
    warnings = [_line(f) for f in verdict.warned]
    warnings += [f"kubeward: {error}" for error in verdict.errors]  # kubectl prints them
    if warnings:
        answer["warnings"] = bounded_warnings(warnings)
    annotations: dict[str, str] = {}
    if verdict.audited:
        annotations["findings"] = _joined([_line(f) for f in verdict.audited], MAX_MESSAGE_CHARS)
    if verdict.exempt:
        annotations["exempt"] = verdict.exempt
    if verdict.skipped_rules and request.operation in JUDGED_OPERATIONS and not verdict.exempt:
        annotations["skipped-rules"] = (
            ",".join(verdict.skipped_rules) + ": inventory-scope rules need the whole cluster "
            "(kubeward scan --cluster / audit judge them)"
        )
    if verdict.errors:
        annotations["errors"] = _joined(verdict.errors, MAX_MESSAGE_CHARS)
    if verdict.suppressed:  # a waiver by the deployer's own annotation must leave a trace
        annotations["suppressed"] = _joined(
            [_suppressed_line(f) for f in verdict.suppressed], MAX_MESSAGE_CHARS
        )
    if verdict.existing:
        annotations["existing-violations"] = (
            f"{verdict.existing} finding(s) the old object had already were not refused "
            "(admission.allowExistingViolations)"
        )
    if annotations:
        answer["auditAnnotations"] = annotations
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "response": answer}


def deny_message(
    request: AdmissionRequest, denied: Sequence[Finding], errors: Sequence[str] = ()
) -> str:
    head = f"kubeward denied {request.describe()}: "
    lines = [_line(f) for f in denied]
    lines += [f"{error} (refused: admission.onError is deny)" for error in errors]
    return head + _joined(lines, MAX_MESSAGE_CHARS - len(head))


def bounded_warnings(lines: Sequence[str]) -> list[str]:
    """``lines`` as AdmissionReview warnings, within ``MAX_WARNINGS``, ``MAX_WARNING_CHARS``
    each and ``MAX_WARNINGS_TOTAL_CHARS`` in all; the last says how many were left out."""
    cut = [_cut(line, MAX_WARNING_CHARS) for line in lines]
    if len(cut) <= MAX_WARNINGS and sum(map(len, cut)) <= MAX_WARNINGS_TOTAL_CHARS:
        return cut
    room = MAX_WARNINGS_TOTAL_CHARS - len(_more_warnings(len(cut)))
    kept: list[str] = []
    for line in cut[: MAX_WARNINGS - 1]:
        if len(line) > room:
            break
        kept.append(line)
        room -= len(line)
    return [*kept, _more_warnings(len(cut) - len(kept))]


def _joined(lines: Sequence[str], limit: int) -> str:
    """``lines`` joined with ``; `` in at most ``limit`` characters; the lines that do not fit
    are counted at the end (the first is cut to fit rather than left out)."""
    text = "; ".join(lines)
    if len(text) <= limit:
        return text
    if len(lines) == 1:
        return _cut(text, limit)
    room = limit - len(_more(len(lines)))
    kept: list[str] = []
    for line in lines:
        if len(line) + 2 > room:  # the line and its "; "
            if not kept:
                kept.append(_cut(line, room - 2))
            break
        kept.append(line)
        room -= len(line) + 2
    return "; ".join([*kept, _more(len(lines) - len(kept))])


def _more(count: int) -> str:
    return f"... and {count} more (kubeward scan shows all)"


def _more_warnings(count: int) -> str:
    return f"kubeward: ... and {count} more warnings (kubeward scan shows all)"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _line(finding: Finding) -> str:
    return f"{finding.rule_id} {finding.rule_name}: {finding.message}"


def _suppressed_line(finding: Finding) -> str:
    how = finding.suppression
    waiver = f" (by {how.kind}: {how.reason})" if how is not None else ""
    return f"{_line(finding)}{waiver}"
