"""Gatekeeper ConstraintTemplates and Constraints → rules.

A ConstraintTemplate (``templates.gatekeeper.sh``) brings the Rego — ``spec.targets[0].rego``
and ``libs``, or a ``code`` entry with ``engine: Rego`` — and each Constraint of its kind
(``constraints.gatekeeper.sh``) becomes one rule, evaluated with the Constraint's
``spec.parameters`` as ``input.parameters`` and the object as ``input.review.object``.

kubeward needs what Gatekeeper does not say: the rule ID, from the Constraint's annotation
``kubeward.io/id`` (required), and optionally ``kubeward.io/severity`` (default medium) and
``kubeward.io/remediation``. The title is the template's ``metadata.gatekeeper.sh/title``
annotation (else its kind), the description its ``description`` annotation.

``spec.parameters`` must fit the template's ``openAPIV3Schema`` (checked by
``kubeward.policies.openapi_schema``), as the API server requires.

``spec.match``: ``kinds`` (the kinds; API groups are not compared), ``namespaces`` and
``excludedNamespaces`` (with Gatekeeper's ``*`` prefix/suffix globs), ``scope``, ``name`` and
``labelSelector`` are honoured as Gatekeeper does (``match_namespace``); a
``namespaceSelector`` (it needs the Namespace's labels) or a field Gatekeeper's match does not
have is refused rather than ignored (it would widen what the Constraint judges).
``enforcementAction`` is not read: kubeward's own admission actions (``admission.actions`` in
kubeward.yaml) apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubeward.model import K8sObject
from kubeward.policies.fields import (
    NAME_PATTERN,
    Header,
    Invalid,
    PolicyProblem,
    checked_id,
    checked_severity,
)
from kubeward.policies.kinds import kind_problem
from kubeward.policies.openapi_schema import BadSchema, check_schema, mismatches, show
from kubeward.policies.rego import RegoModule, RegoProgram
from kubeward.policies.rego_policies import (
    RegoDefinition,
    compiled_program,
    rule_for,
    scalar_module,
)
from kubeward.rules import Rule, Target
from kubeward.rules._common.selectors import selector_matches
from kubeward.yaml_lines import node_line

TEMPLATE_GROUP = "templates.gatekeeper.sh/"
CONSTRAINT_GROUP = "constraints.gatekeeper.sh/"
ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
ID_ANNOTATION = "kubeward.io/id"
SEVERITY_ANNOTATION = "kubeward.io/severity"
REMEDIATION_ANNOTATION = "kubeward.io/remediation"
UNSUPPORTED_MATCH = ("namespaceSelector",)
KNOWN_MATCH = ("kinds", "namespaces", "excludedNamespaces", "labelSelector",
               "namespaceSelector", "scope", "name")  # fmt: skip
SCOPES = ("*", "Cluster", "Namespaced")
SCHEMA_PATH = ("spec", "crd", "spec", "validation", "openAPIV3Schema")


def is_template(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("apiVersion", "")).startswith(
        TEMPLATE_GROUP
    )


def is_constraint(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("apiVersion", "")).startswith(
        CONSTRAINT_GROUP
    )


@dataclass
class Template:
    kind: str
    file: str
    line: int
    title: str
    description: str
    modules: list[RegoModule]
    version: str | None
    schema: dict[str, Any] | None = None
    """``spec.crd.spec.validation.openAPIV3Schema``: what a Constraint's parameters must be."""
    schema_line: int | None = None
    legacy_schema: bool = False
    """``legacySchema`` (the default before ``templates.gatekeeper.sh/v1``): Gatekeeper keeps
    fields the schema does not define, where a structural schema has them pruned."""
    schema_valid: bool = True
    program: RegoProgram | None = None
    """None when its Rego does not compile (reported with the template)."""


@dataclass
class Gatekeeper:
    """Templates and Constraints as they are read; ``rules()`` pairs them at the end."""

    templates: dict[str, Template] = field(default_factory=dict)
    constraints: list[tuple[dict[str, Any], yaml.Node, str]] = field(default_factory=list)

    def add_template(self, document: dict[str, Any], node: yaml.Node, file: str) -> None:
        template = read_template(document, node, file)
        if template.kind in self.templates:
            raise Invalid(f"a second ConstraintTemplate for kind {template.kind}",
                          node.start_mark.line + 1)  # fmt: skip
        self.templates[template.kind] = template
        if template.schema is not None:
            try:
                check_schema(template.schema)
            except BadSchema as exc:
                template.schema_valid = False
                where = show((*SCHEMA_PATH[-1:], *exc.path))
                raise Invalid(f"ConstraintTemplate {template.kind}: {where}: {exc}",
                              node_line(node, (*SCHEMA_PATH, *exc.path))) from None  # fmt: skip
        template.program = compiled_program(template.modules, template.version)

    def add_constraint(self, document: dict[str, Any], node: yaml.Node, file: str) -> None:
        self.constraints.append((document, node, file))

    def rules(
        self, module_prefix: str, problems: list[PolicyProblem]
    ) -> list[tuple[Rule, RegoDefinition, str, int]]:
        """(rule, definition, file, line) per Constraint; problems are appended."""
        out = []
        for document, node, file in self.constraints:
            try:
                rule, definition = self._rule(document, node, file, module_prefix)
            except Invalid as exc:
                problems.append(PolicyProblem(file, exc.line, str(exc)))
                continue
            out.append((rule, definition, file, node.start_mark.line + 1))
        return out

    def _rule(
        self, document: dict[str, Any], node: yaml.Node, file: str, module_prefix: str
    ) -> tuple[Rule, RegoDefinition]:
        kind = document.get("kind")
        meta = _mapping(document.get("metadata"))
        name = meta.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise Invalid(f"Constraint metadata.name {name!r}: kebab-case (it names the rule)",
                          node_line(node, ("metadata", "name")))  # fmt: skip
        template = self.templates.get(str(kind))
        if template is None:
            raise Invalid(f"no ConstraintTemplate defines kind {kind!r} in the policy paths",
                          node_line(node, ("kind",)))  # fmt: skip
        if not template.schema_valid:  # its problem is reported with the template
            raise Invalid(f"its ConstraintTemplate {kind} ({template.file}:{template.line}) "
                          "has an invalid openAPIV3Schema", node_line(node, ("kind",)))  # fmt: skip
        if template.program is None:  # its problem is reported with the template
            raise Invalid(f"its ConstraintTemplate {kind} ({template.file}:{template.line}) "
                          "does not compile", node_line(node, ("kind",)))  # fmt: skip
        annotations = _mapping(meta.get("annotations"))
        at = node_line(node, ("metadata", "annotations"))
        raw_id = annotations.get(ID_ANNOTATION)
        if not isinstance(raw_id, str):
            raise Invalid(
                f"Constraint {name}: add the annotation {ID_ANNOTATION} (the rule ID, e.g. "
                f"ACME200), optionally {SEVERITY_ANNOTATION} and {REMEDIATION_ANNOTATION}",
                at or node_line(node, ("metadata",)),
            )
        rule_id = checked_id(raw_id, ID_ANNOTATION, at)
        severity = checked_severity(str(annotations.get(SEVERITY_ANNOTATION, "medium")),
                                    SEVERITY_ANNOTATION, at)  # fmt: skip
        spec = _mapping(document.get("spec"))
        target, applies = _match(spec.get("match"), node)
        parameters = spec.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise Invalid("spec.parameters: a mapping", node_line(node, ("spec", "parameters")))
        if parameters is not None and template.schema is not None:
            _check_parameters(parameters, template, name, node)
        remediation = annotations.get(REMEDIATION_ANNOTATION) or (
            f"Change the object so that Constraint {name} ({kind}) admits it."
        )
        head = Header(
            name=name,
            id=rule_id,
            title=template.title,
            severity=severity,
            remediation=str(remediation),
            description=template.description,
            target=target,
        )
        rule = rule_for(head, template.program, file, module_prefix,
                        parameters=parameters or {}, applies=applies)  # fmt: skip
        return rule, RegoDefinition(template.program)


def _check_parameters(
    parameters: dict[str, Any], template: Template, name: str, node: yaml.Node
) -> None:
    """Refuse parameters the template's schema refuses, as the API server refuses such a
    Constraint (a mistyped parameter would otherwise pass every object silently)."""
    assert template.schema is not None  # noqa: S101 - checked by the caller
    found = mismatches(template.schema, parameters, preserve_unknown=template.legacy_schema)
    if not found:
        return
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    where = ("spec", "parameters", *first.path)
    raise Invalid(
        f"Constraint {name}: {show(where)}: {first.message}, by the openAPIV3Schema of "
        f"ConstraintTemplate {template.kind} ({template.file}:{template.schema_line}){more}",
        node_line(node, where),
    )


def read_template(document: dict[str, Any], node: yaml.Node, file: str) -> Template:
    meta = _mapping(document.get("metadata"))
    spec = _mapping(document.get("spec"))
    names = _mapping(_mapping(_mapping(spec.get("crd")).get("spec")).get("names"))
    kind = names.get("kind")
    if not isinstance(kind, str) or not kind:
        raise Invalid("ConstraintTemplate: spec.crd.spec.names.kind is required",
                      node_line(node, ("spec", "crd")))  # fmt: skip
    targets = spec.get("targets")
    if not isinstance(targets, list) or not targets or not isinstance(targets[0], dict):
        raise Invalid("ConstraintTemplate: spec.targets[0] is required",
                      node_line(node, ("spec", "targets")))  # fmt: skip
    target = targets[0]
    if target.get("target") not in (None, ADMISSION_TARGET):
        raise Invalid(f"ConstraintTemplate: only the {ADMISSION_TARGET} target is supported",
                      node_line(node, ("spec", "targets", 0, "target")))  # fmt: skip
    at: tuple[str | int, ...] = ("spec", "targets", 0)
    rego, libs, version = target.get("rego"), target.get("libs"), None
    for index, code in enumerate(target.get("code") or []):
        if isinstance(code, dict) and code.get("engine") == "Rego":
            source = _mapping(code.get("source"))
            rego, libs = source.get("rego"), source.get("libs")
            version = source.get("version") if source.get("version") in ("v0", "v1") else None
            at = ("spec", "targets", 0, "code", index, "source")
            break
    if not isinstance(rego, str) or not rego.strip():
        raise Invalid("ConstraintTemplate: no Rego (spec.targets[0].rego, or a code entry with "
                      "engine: Rego)", node_line(node, ("spec", "targets", 0)))  # fmt: skip
    if libs is not None and not (isinstance(libs, list) and all(isinstance(x, str) for x in libs)):
        raise Invalid("ConstraintTemplate: libs is a list of Rego modules",
                      node_line(node, (*at, "libs")))  # fmt: skip
    modules = [scalar_module(node, (*at, "rego"), rego, file)]
    modules += [
        scalar_module(node, (*at, "libs", i), lib, file) for i, lib in enumerate(libs or [])
    ]
    annotations = _mapping(meta.get("annotations"))
    title = annotations.get("metadata.gatekeeper.sh/title") or kind
    description = annotations.get("description") or ""
    validation = _mapping(_mapping(_mapping(spec.get("crd")).get("spec")).get("validation"))
    legacy = validation.get("legacySchema")
    if legacy is None:  # Gatekeeper's default: true before v1
        legacy = not str(document.get("apiVersion")).endswith("/v1")
    if not isinstance(legacy, bool):
        raise Invalid("ConstraintTemplate: legacySchema: true or false",
                      node_line(node, (*SCHEMA_PATH[:-1], "legacySchema")))  # fmt: skip
    schema = validation.get("openAPIV3Schema")
    return Template(kind, file, node.start_mark.line + 1, str(title).strip(),
                    str(description).strip(), modules, version, schema=schema,
                    schema_line=node_line(node, SCHEMA_PATH), legacy_schema=legacy)  # fmt: skip


def _match(match: Any, node: yaml.Node) -> tuple[Target, Callable[[K8sObject], bool] | None]:
    if match is None:
        return Target(every_kind=True), None
    if not isinstance(match, dict):
        raise Invalid("spec.match: a mapping", node_line(node, ("spec", "match")))
    for key in UNSUPPORTED_MATCH:
        if key in match:
            raise Invalid(f"spec.match.{key} is not supported by kubeward (it needs the labels "
                          "of the object's Namespace; use namespaces or excludedNamespaces)",
                          node_line(node, ("spec", "match", key)))  # fmt: skip
    unknown = sorted(str(k) for k in match if k not in KNOWN_MATCH)
    if unknown:
        raise Invalid(f"spec.match.{unknown[0]}: not a field of Gatekeeper's match (known: "
                      f"{', '.join(KNOWN_MATCH)})",
                      node_line(node, ("spec", "match", unknown[0])))  # fmt: skip
    kinds: set[str] = set()
    every_kind = "kinds" not in match
    for index, entry in enumerate(match.get("kinds") or []):
        listed = entry.get("kinds") if isinstance(entry, dict) else None
        if not isinstance(listed, list) or not all(isinstance(k, str) for k in listed):
            raise Invalid("spec.match.kinds: [{apiGroups: [...], kinds: [...]}]",
                          node_line(node, ("spec", "match", "kinds", index)))  # fmt: skip
        for kind in listed:
            problem = kind_problem(kind) if kind != "*" else None
            if problem is not None:  # as for users' own policies: never a silent no-match
                raise Invalid(f"spec.match.kinds: {problem}",
                              node_line(node, ("spec", "match", "kinds", index)))  # fmt: skip
        every_kind |= "*" in listed
        kinds.update(k for k in listed if k != "*")
    included = _names(match.get("namespaces"), node, "namespaces")
    excluded = _names(match.get("excludedNamespaces"), node, "excludedNamespaces")
    scope = match.get("scope", "*")
    if scope not in SCOPES:
        raise Invalid(f"spec.match.scope {scope!r}: one of {', '.join(SCOPES)}",
                      node_line(node, ("spec", "match", "scope")))  # fmt: skip
    name = match.get("name") or ""
    if not isinstance(name, str):
        raise Invalid("spec.match.name: a name, optionally with a * prefix or suffix",
                      node_line(node, ("spec", "match", "name")))  # fmt: skip
    selector = match.get("labelSelector")
    if selector is not None:
        _check_selector(selector, node, ("spec", "match", "labelSelector"))
    target = Target(every_kind=True) if every_kind else Target(kinds=frozenset(kinds))
    if not (included or excluded or name or selector is not None or scope != "*"):
        return target, None

    # Gatekeeper's own matchers (pkg/mutation/match/match.go, which pkg/target/matcher.go runs
    # for Constraints): namespacesMatch and excludedNamespacesMatch compare a Namespace by its
    # own name, other objects by their namespace, and let a cluster-scoped object other than a
    # Namespace through both; scopeMatch counts a Namespace as cluster-scoped; namesMatch
    # compares metadata.name; labelSelectorMatch the object's labels.
    def applies(obj: K8sObject) -> bool:
        namespace = match_namespace(obj)
        if namespace is not None:
            if included and not any(_glob(p, namespace) for p in included):
                return False
            if any(_glob(p, namespace) for p in excluded):
                return False
        is_namespace = _is_namespace(obj)
        if scope == "Cluster" and not (is_namespace or namespace is None):
            return False
        if scope == "Namespaced" and (is_namespace or namespace is None):
            return False
        if name and not _glob(name, str(obj.metadata.get("name") or "")):
            return False
        return selector is None or selector_matches(selector, obj.labels)

    return target, applies


def match_namespace(obj: K8sObject) -> str | None:
    """The namespace ``namespaces`` and ``excludedNamespaces`` compare, None for an object
    they leave alone (cluster-scoped, other than a Namespace).

    A Namespace is compared by its own name. A namespaced manifest without
    ``metadata.namespace`` (and no ``--namespace``) is taken to be in ``default``, where
    kubectl puts it unless the context says otherwise — the reading of rule N001; at admission
    the request's namespace is the object's."""
    if _is_namespace(obj):
        return str(obj.metadata.get("name") or "")
    if obj.namespace_source == "cluster":
        return None
    return obj.namespace or "default"


def _is_namespace(obj: K8sObject) -> bool:
    return obj.kind == "Namespace" and obj.api_version in ("v1", "")


def _glob(pattern: str, candidate: str) -> bool:
    """Gatekeeper's Wildcard (pkg/util/wildcard.go): a ``*`` prefix, suffix or both, else an
    exact name."""
    if len(pattern) > 1 and pattern.startswith("*") and pattern.endswith("*"):
        return pattern[1:-1] in candidate
    if pattern.startswith("*"):
        return candidate.endswith(pattern[1:])
    if pattern.endswith("*"):
        return candidate.startswith(pattern[:-1])
    return pattern == candidate


def _check_selector(selector: Any, node: yaml.Node, at: tuple[str, ...]) -> None:
    """A LabelSelector Kubernetes accepts (else it is refused, as the API server would)."""
    if not isinstance(selector, dict) or set(selector) - {"matchLabels", "matchExpressions"}:
        raise Invalid(f"{'.'.join(at)}: {{matchLabels: {{...}}, matchExpressions: [...]}}",
                      node_line(node, at))  # fmt: skip
    labels = selector.get("matchLabels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise Invalid(f"{'.'.join(at)}.matchLabels: a mapping of label names to strings",
                      node_line(node, (*at, "matchLabels")))  # fmt: skip
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise Invalid(f"{'.'.join(at)}.matchExpressions: a list",
                      node_line(node, (*at, "matchExpressions")))  # fmt: skip
    for index, item in enumerate(expressions):
        where: tuple[str | int, ...] = (*at, "matchExpressions", index)
        entry = _mapping(item)
        operator, values = entry.get("operator"), entry.get("values") or []
        valid = (
            isinstance(entry.get("key"), str)
            and isinstance(values, list)
            and all(isinstance(v, str) for v in values)
            and (
                (operator in ("In", "NotIn") and bool(values))
                or (operator in ("Exists", "DoesNotExist") and not values)
            )
        )
        if not valid:
            raise Invalid(f"{'.'.join(at)}.matchExpressions[{index}]: {{key, operator: In or "
                          "NotIn with values, or Exists or DoesNotExist without}",
                          node_line(node, where))  # fmt: skip


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(value: Any, node: yaml.Node, key: str) -> Sequence[str]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"spec.match.{key}: a list of namespaces",
                      node_line(node, ("spec", "match", key)))  # fmt: skip
    return tuple(value)
