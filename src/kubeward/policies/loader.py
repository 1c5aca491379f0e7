"""Policy files → rules.

A policy file (``*.yaml``/``*.yml`` in a policies directory, several documents allowed) holds
``CELPolicy`` documents and ``RegoPolicy`` documents; ``*.rego`` files are Rego policies too
(``kubeward.policies.rego_policies``), and so are Gatekeeper ConstraintTemplates with their
Constraints (``kubeward.policies.gatekeeper``). A ``CELPolicy``:

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
  params:                             # optional: what expressions see as `params`
    data: {allowed: "a,b"}            # (`policyParams:` in kubeward.yaml overrides it)
```

``namespaceObject`` is the Namespace the judged object is in, found among the scanned objects
(in a cluster scan or audit, the cluster's), and ``null`` for cluster-scoped objects or when
that Namespace is not known (an expression that then fails says so).

Every problem — YAML, a missing or wrong field, an expression that does not compile, an ID
that is taken — is reported with file and line; the other policies still load. Messages are
static text: a message computed from the object could quote a Secret's value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubeward.model import K8sObject, Violation
from kubeward.policies import cel_isolation
from kubeward.policies.fields import (
    API_VERSION,
    ID_PATTERN,
    NAME_PATTERN,
    Invalid,
    PolicyProblem,
    PolicyRuntimeError,
    header,
    spec_of,
    text_field,
    unknown,
)
from kubeward.policies.gatekeeper import Gatekeeper, is_constraint, is_template
from kubeward.policies.rego import RegoModule
from kubeward.policies.rego_policies import (
    REGO_KIND,
    RegoDefinition,
    library_module,
    rego_file_rule,
    rego_policy_rule,
)
from kubeward.policies.request import cel_variables
from kubeward.rules import Rule, RuleParams, Target
from kubeward.yaml_lines import YamlProblem, load_all, node_line

if TYPE_CHECKING:
    # The CEL engine is imported when a CEL policy is found: a scan without one does not pay
    # for it (~60 ms of start-up).
    from kubeward.policies.cel import Expression, Variables

KIND = "CELPolicy"
KINDS = (KIND, REGO_KIND)
SUFFIXES = (".yaml", ".yml", ".rego")
POLICY_MODULE = "kubeward.policies.custom"
"""``Rule.module`` prefix of users' policies (``<prefix>:<file>``)."""
__all__ = [
    "API_VERSION", "ID_PATTERN", "KIND", "NAME_PATTERN", "POLICY_MODULE", "CelDefinition",
    "Definition", "LoadedPolicies", "PolicyProblem", "PolicyRuntimeError", "RegoDefinition",
    "load_policies", "policy_files",
]  # fmt: skip


@dataclass(frozen=True)
class CelDefinition:
    """What a CEL policy says, for exporting it (``admission export-vap``)."""

    target: Target
    validations: tuple[tuple[str, str], ...]
    """(expression, message)."""
    leaking_functions: tuple[str, ...] = ()
    """Kubernetes CEL functions it calls, which leak memory in the engine (see
    ``cel_worker``): a long-running process evaluates it in the recycled CEL worker."""
    params: Mapping[str, Any] | None = None
    """``spec.params``: the policy's own ``params`` (``policyParams:`` may replace it)."""
    reads_namespace: bool = False
    """An expression reads ``namespaceObject``."""


Definition = CelDefinition | RegoDefinition


@dataclass
class LoadedPolicies:
    rules: list[Rule] = field(default_factory=list)
    """Every policy loaded, selected or not (``scan.enforced_rules`` chooses among them with
    select/ignore; a ``kubeward.io/ignore.<ID>`` annotation may name any of them)."""
    problems: list[PolicyProblem] = field(default_factory=list)
    definitions: dict[str, Definition] = field(default_factory=dict)
    """By rule ID."""


def isolate_leaking_policies(
    loaded: LoadedPolicies, enforced: Sequence[Rule] | None = None
) -> list[str]:
    """For a long-running process (the webhook, ``audit --watch``): cel-expr-python 0.1.3
    leaks on every call of a Kubernetes library function. Where ``k8s_cel.reclaim`` gives the
    leaked references back (its self-test passes; ``KUBEWARD_CEL_WORKER=1`` declines it), the
    expressions stay in this process. Otherwise they will run in the recycled CEL worker
    (``cel_isolation``), started now with them compiled. ``enforced``: the rules the process
    runs (policies left out by select/ignore are not compiled there). The IDs of the policies
    sent to the worker."""
    if os.environ.get("KUBEWARD_CEL_WORKER") != "1" and _engine_leaks_reclaimed(loaded):
        return []
    isolated: list[str] = []
    chosen = {rule.id for rule in enforced} if enforced is not None else None
    for rule in loaded.rules:
        if chosen is not None and rule.id not in chosen:
            continue
        definition = loaded.definitions.get(rule.id)
        if isinstance(definition, CelDefinition) and definition.leaking_functions:
            isolated.append(rule.id)
            sources = tuple(source for source, _ in definition.validations)
            cel_isolation.register(rule.id, rule.target, sources, definition.params)
    cel_isolation.start()
    return isolated


def _engine_leaks_reclaimed(loaded: LoadedPolicies) -> bool:
    if not any(isinstance(d, CelDefinition) for d in loaded.definitions.values()):
        return True  # nothing to isolate; the CEL engine need not even be imported
    from kubeward.policies.k8s_cel import reclaim

    return reclaim.self_test()


def policy_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES)
        else:
            yield path


def load_policies(paths: Iterable[str | Path], taken: Iterable[str] = ()) -> LoadedPolicies:
    """The rules of every policy under ``paths``; ``taken``: IDs and names already in use."""
    out = LoadedPolicies()
    used = set(taken)
    files = list(policy_files(paths))
    libraries = _rego_libraries(files, out)
    gatekeeper = Gatekeeper()

    def add(rule: Rule, definition: Definition, file: str, line: int | None) -> None:
        nonlocal used
        clash = {rule.id, rule.name} & used
        if clash:
            what = ", ".join(sorted(clash))
            out.problems.append(PolicyProblem(file, line, f"{what} is already taken"))
            return
        used |= {rule.id, rule.name}
        out.rules.append(rule)
        out.definitions[rule.id] = definition

    for path in files:
        shown = str(path)
        if path.suffix == ".rego":
            if path.name.endswith("_test.rego"):
                continue  # OPA unit tests (opa test), not policies
            try:
                found = rego_file_rule(path, path.read_text(encoding="utf-8"), libraries,
                                       POLICY_MODULE)  # fmt: skip
            except (OSError, UnicodeDecodeError) as exc:
                out.problems.append(PolicyProblem(shown, None, f"cannot read policy file: {exc}"))
                continue
            except Invalid as exc:
                out.problems.append(PolicyProblem(shown, exc.line, str(exc)))
                continue
            if found is not None:
                add(*found, shown, 1)
            continue
        try:
            pairs = load_all(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            out.problems.append(PolicyProblem(shown, None, f"cannot read policy file: {exc}"))
            continue
        except YamlProblem as exc:
            out.problems.append(PolicyProblem(shown, exc.line, exc.message))
            continue
        for node, document in pairs:
            if document is None or (
                isinstance(document, dict) and document.get("kind") == "PolicyTest"
            ):
                continue  # policy tests live next to the policies (kubeward policy test)
            try:
                if is_template(document):
                    gatekeeper.add_template(document, node, shown)
                    continue
                if is_constraint(document):
                    gatekeeper.add_constraint(document, node, shown)
                    continue  # a rule once every template is known
                rule, definition = _document_rule(document, node, shown)
            except Invalid as exc:
                out.problems.append(PolicyProblem(shown, exc.line, str(exc)))
                continue
            add(rule, definition, shown, node.start_mark.line + 1)
    for rule, definition, file, line in gatekeeper.rules(POLICY_MODULE, out.problems):
        add(rule, definition, file, line)
    return out


def _rego_libraries(files: Sequence[Path], out: LoadedPolicies) -> list[RegoModule]:
    """The ``.rego`` modules that are not policies: every ``.rego`` policy may import them."""
    libraries = []
    for path in files:
        if path.suffix != ".rego":
            continue
        try:
            module = library_module(path, path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # reported when the file is read as a policy
        if module is not None:
            libraries.append(module)
    return libraries


def _document_rule(document: Any, node: yaml.Node, file: str) -> tuple[Rule, Definition]:
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind == REGO_KIND:
        return rego_policy_rule(document, node, file, POLICY_MODULE)
    if kind != KIND and isinstance(document, dict):
        raise Invalid(
            f"expected apiVersion: {API_VERSION} and kind: {' or '.join(KINDS)}",
            node_line(node, ("kind",)),
        )
    return _rule(document, node, file)


def _rule(document: Any, node: yaml.Node, file: str) -> tuple[Rule, CelDefinition]:
    meta, spec = spec_of(document, node, KIND)
    head = header(meta, spec, node, frozenset({"validations", "params"}))
    checks = _validations(spec.get("validations"), node)
    params = spec.get("params")
    if params is not None and not isinstance(params, dict):
        raise Invalid(
            "spec.params: a mapping (what expressions see as `params`)",
            node_line(node, ("spec", "params")),
        )
    places = [
        f"{file}:{node_line(node, ('spec', 'validations', index, 'expression')) or '?'}"
        for index in range(len(checks))
    ]
    rule = head.rule(
        file=file,
        module=f"{POLICY_MODULE}:{file}",
        example="\n".join(f"`{expression.source}`" for expression, _ in checks),
        check=_checker(head.id, checks, params, places),
    )
    leaking = tuple(sorted({f for e, _ in checks for f in e.leaking_functions}))
    reads_namespace = any(e.reads_namespace for e, _ in checks)
    validations = tuple((e.source, m) for e, m in checks)
    return rule, CelDefinition(head.target, validations, leaking, params, reads_namespace)


def _validations(raw: Any, node: yaml.Node) -> Sequence[tuple[Expression, str]]:
    from kubeward.policies.cel import CelError, Expression

    if not isinstance(raw, list) or not raw:
        raise Invalid(
            "spec.validations: at least one",
            node_line(node, ("spec", "validations")),
        )
    checks = []
    for index, item in enumerate(raw):
        at = ("spec", "validations", index)
        if not isinstance(item, dict):
            raise Invalid(f"spec.validations[{index}]: expression and message", node_line(node, at))
        _no_vap_only_fields(item, index, node)
        unknown(item, VALIDATION_FIELDS, f"spec.validations[{index}]",
                functools.partial(_item_line, node, at))  # fmt: skip
        source = text_field(item.get("expression"), f"spec.validations[{index}].expression", node,
                       *at, "expression")  # fmt: skip
        message = text_field(item.get("message"), f"spec.validations[{index}].message", node,
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
            raise Invalid(
                f"spec.validations[{index}].expression: {exc} (column {exc.column})", line
            ) from None
        checks.append((expression, message))
    return checks


VALIDATION_FIELDS = frozenset({"expression", "message"})
_VAP_ONLY = {
    "messageExpression": "a message computed from the object could quote a Secret's value, so "
    "messages are fixed text: use message",
    "reason": "kubeward's webhook refuses with 403 Forbidden, as a VAP does by default",
}
"""ValidatingAdmissionPolicy validation fields kubeward refuses, and why."""


def _item_line(node: yaml.Node, at: tuple[str | int, ...], key: str) -> int | None:
    return node_line(node, (*at, key))


def _no_vap_only_fields(item: Mapping[str, Any], index: int, node: yaml.Node) -> None:
    for key, why in _VAP_ONLY.items():
        if key in item:
            raise Invalid(
                f"spec.validations[{index}].{key} is not supported: {why}",
                node_line(node, ("spec", "validations", index, key)),
            )


def _checker(
    rule_id: str,
    checks: Sequence[tuple[Expression, str]],
    own_params: Mapping[str, Any] | None,
    places: Sequence[str],
) -> Any:
    """``places``: each expression's file:line, for the errors it raises."""
    from kubeward.policies.cel import CelEvaluationError, Variables

    def check(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
        data = cel_variables(obj, params.policy_params.get(rule_id, own_params), params)
        namespace = data["namespaceObject"]
        isolated = cel_isolation.verdicts(obj, checks, data, params)
        variables: Variables | None = None
        for (expression, message), place in zip(checks, places, strict=True):
            try:
                found = isolated.get(expression.source)
                if found is None:
                    if variables is None:  # bound once for all of this policy's expressions
                        variables = Variables(data)
                    holds = expression.holds(variables)
                else:
                    holds = found.verdict()
            except CelEvaluationError as exc:
                if obj.kind == "Secret":  # CEL's message could quote a value it failed on
                    detail = f"{expression.source!r} failed (details withheld for a Secret)"
                else:
                    detail = str(exc)
                if namespace is None and obj.namespace is not None and expression.reads_namespace:
                    detail += (
                        f" (namespaceObject is null: Namespace {obj.namespace!r} is not among "
                        "the objects scanned)"
                    )
                raise PolicyRuntimeError(f"{place}: {detail}") from None
            if not holds:
                yield Violation((), message)

    return check
