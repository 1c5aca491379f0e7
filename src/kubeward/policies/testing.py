"""``kubeward policy test``: users' unit tests for their policies (and for built-in rules).

A test file holds ``PolicyTest`` documents next to the policies:

```yaml
apiVersion: kubeward.io/v1alpha1
kind: PolicyTest
metadata:
  name: replicas
spec:
  cases:
    - name: a single replica is refused
      rule: ACME002                  # a policy's ID, or a built-in rule's (W001, ...)
      expect: fail                   # pass | fail | error
      object:                        # the manifest the rule judges
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec: {replicas: 1}
      request:                       # optional: judge it as the webhook would, inside this
        operation: UPDATE            # AdmissionReview request (Rego policies read it as
        userInfo: {username: alice}  # input.request; object is added)
        oldObject: {...}
      params: {data: {max: "3"}}     # optional: the CEL policy's params for this case
      namespaceObject:               # optional: the Namespace the object is in
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {tier: prod}}
      message: one replica           # optional, with fail or error: a finding's message (or
                                     # the error) must contain this text
```

Any other key in a case is an error (a misspelt ``requets:`` would otherwise quietly test
something else), and so is a rule that is neither a policy under the paths nor a built-in
one.

Each case runs the one rule on the one object through the engine (kubeward.yaml's parameters
and exceptions do not apply; a namespace-less object is in the ``namespaceObject``'s namespace,
else ``default``); a case whose rule does not target the object's kind passes when it expects
``pass``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from kubeward.engine import EngineSettings, evaluate
from kubeward.model import Inventory, K8sObject
from kubeward.model.objects import UNLOCATED
from kubeward.policies.loader import API_VERSION, PolicyProblem, policy_files
from kubeward.rules import Rule, RuleParams
from kubeward.yaml_lines import YamlProblem, load_all, node_line

TEST_KIND = "PolicyTest"
EXPECTATIONS = ("pass", "fail", "error")
CASE_FIELDS = ("name", "rule", "expect", "object", "request", "params", "namespaceObject",
               "message")  # fmt: skip


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    name: str
    rule_id: str
    expect: str
    object: dict[str, Any]
    request: dict[str, Any] | None = None
    """An AdmissionReview request to judge the object in (admission), or None (a scan)."""
    params: dict[str, Any] | None = None
    """The CEL policy's ``params`` for this case (else its own ``spec.params``)."""
    namespace: dict[str, Any] | None = None
    """The Namespace manifest the object is in (``namespaceObject``)."""
    message: str | None = None
    """Text a finding's message (``expect: fail``) or the error (``expect: error``) contains."""
    rule_line: int | None = None
    """The line of ``rule:``."""


@dataclass(frozen=True)
class Outcome:
    case: Case
    actual: str
    detail: str
    messages: tuple[str, ...] = ()
    """The findings' messages, or the error's."""

    @property
    def ok(self) -> bool:
        if self.actual != self.case.expect:
            return False
        wanted = self.case.message
        return wanted is None or any(wanted in message for message in self.messages)


def load_cases(paths: Iterable[str]) -> tuple[list[Case], list[PolicyProblem]]:
    cases: list[Case] = []
    problems: list[PolicyProblem] = []
    for path in policy_files(paths):
        if path.suffix == ".rego":
            continue  # tests are YAML documents
        shown = str(path)
        try:
            pairs = load_all(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YamlProblem):
            continue  # the policy loader reports unreadable files
        for node, document in pairs:
            if not isinstance(document, dict) or document.get("kind") != TEST_KIND:
                continue
            if document.get("apiVersion") != API_VERSION:
                problems.append(PolicyProblem(shown, node_line(node, ("apiVersion",)),
                                              f"expected apiVersion: {API_VERSION}"))  # fmt: skip
                continue
            spec = document.get("spec")
            raw_cases = spec.get("cases") if isinstance(spec, dict) else None
            if not isinstance(raw_cases, list) or not raw_cases:
                problems.append(
                    PolicyProblem(shown, node_line(node, ("spec",)), "spec.cases: a list")
                )
                continue
            for index, raw in enumerate(raw_cases):
                at = ("spec", "cases", index)
                line = node_line(node, at) or 0
                case = _case(raw, shown, line)
                if isinstance(case, tuple):
                    message, key = case
                    where = node_line(node, (*at, key)) if key else line
                    problems.append(PolicyProblem(shown, where, f"spec.cases[{index}]: {message}"))
                else:
                    rule_line = node_line(node, (*at, "rule"))
                    cases.append(replace(case, rule_line=rule_line))
    return cases, problems


def as_json(value: Any) -> Any:
    """``value`` as a manifest or an AdmissionReview carries it: JSON's types only.

    The test file is read by PyYAML, whose ``1: x`` key is an int, ``2024-01-01`` a date and
    ``!!binary`` bytes; a scan reads the same manifest with string keys (``"1"``, ``"true"``),
    RFC 3339 timestamps and the base64 text (``sources.yaml_exact``), and rules and the engine
    rely on that (an annotation key is a string)."""
    if isinstance(value, dict):
        return {_json_key(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _case(raw: Any, file: str, line: int) -> Case | tuple[str, str | None]:
    """The case, or what is wrong with it and the key it is about."""
    if not isinstance(raw, dict):
        return "a case is a mapping: name, rule, expect, object", None
    for key in raw:
        if key not in CASE_FIELDS:
            return f"unknown field {key!r} (known: {', '.join(CASE_FIELDS)})", str(key)
    name, rule_id, expect, obj, request, params, namespace, message = (
        raw.get(k) for k in CASE_FIELDS
    )
    obj, request, params, namespace = (as_json(v) for v in (obj, request, params, namespace))
    if not isinstance(rule_id, str) or not rule_id:
        return "rule: the ID of the rule under test", "rule"
    if expect not in EXPECTATIONS:
        return f"expect: one of {', '.join(EXPECTATIONS)}", "expect"
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
        return "object: a manifest with apiVersion and kind", "object"
    if request is not None and not isinstance(request, dict):
        return "request: an AdmissionReview request (operation, userInfo, oldObject...)", "request"
    if params is not None and not isinstance(params, dict):
        return "params: a mapping (what the CEL policy sees as params)", "params"
    if namespace is not None and not (
        isinstance(namespace, dict)
        and namespace.get("kind") == "Namespace"
        and isinstance(namespace.get("metadata"), dict)
        and isinstance(namespace["metadata"].get("name"), str)
    ):
        return (
            "namespaceObject: a Namespace manifest (kind: Namespace, metadata.name)",
            "namespaceObject",
        )
    if message is not None:
        if not isinstance(message, str) or not message:
            return "message: the text a finding's message or the error contains", "message"
        if expect == "pass":
            return "message: only with expect: fail or error (a pass has no message)", "message"
    label = name if isinstance(name, str) and name else f"{rule_id} on {obj['kind']}"
    return Case(file, line, label, rule_id, expect, obj, request, params, namespace, message)


def run_cases(
    cases: Iterable[Case], rules: Mapping[str, Rule]
) -> tuple[list[Outcome], list[PolicyProblem]]:
    """The outcome of every case, and a problem for each case whose rule is not among
    ``rules`` (the policies loaded and the built-in rules): such a case tests nothing,
    whatever it expects."""
    outcomes: list[Outcome] = []
    problems: list[PolicyProblem] = []
    for case in cases:
        rule = rules.get(case.rule_id)
        if rule is None:
            problems.append(PolicyProblem(
                case.file, case.rule_line or case.line,
                f"rule: no rule {case.rule_id} (no policy under the paths has that ID, nor a "
                "built-in rule; a policy that failed to load is reported with its own error)",
            ))  # fmt: skip
            continue
        admission = None
        if case.request is not None:
            admission = {"operation": "CREATE", "userInfo": {}, "oldObject": None,
                         **case.request, "object": case.object}  # fmt: skip
        namespace = case.namespace["metadata"]["name"] if case.namespace else "default"
        obj = K8sObject(case.object, UNLOCATED, deploy_namespace=namespace, admission=admission)
        context = [K8sObject(case.namespace, UNLOCATED)] if case.namespace else []
        params = RuleParams(policy_params={rule.id: case.params} if case.params else {})
        evaluation = evaluate(Inventory([obj], context), [rule], EngineSettings(params=params))
        if evaluation.errors:
            error = evaluation.errors[0].message
            outcomes.append(Outcome(case, "error", error, (error,)))
        elif evaluation.findings:
            found = tuple(f.message for f in evaluation.findings)
            outcomes.append(Outcome(case, "fail", "; ".join(found), found))
        else:
            outcomes.append(Outcome(case, "pass", ""))
    return outcomes, problems
