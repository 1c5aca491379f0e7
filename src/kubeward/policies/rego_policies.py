"""Rego policies → rules: ``RegoPolicy`` documents, ``.rego`` files with a METADATA block, and
Gatekeeper ConstraintTemplates with their Constraints.

A ``RegoPolicy`` document carries the module inline, next to CELPolicy documents:

```yaml
apiVersion: kubeward.io/v1alpha1
kind: RegoPolicy
metadata:
  name: registry-example
spec:
  id: ACME100
  title: Image is not from registry.example
  severity: high
  remediation: Push the image to registry.example and use it from there.
  match: {workloads: true}
  rego: |                       # v1 or v0 syntax (regoVersion: v0|v1 to insist on one)
    package kubeward.registry
    deny[msg] { ... }
  libs: []                      # optional: more modules the policy imports
```

A ``.rego`` file is a policy when a ``# METADATA`` block (OPA's annotation syntax) precedes its
``package`` and names ``custom.id``; ``title`` and ``custom.severity``, ``custom.remediation``,
``custom.kinds`` and/or ``custom.workloads`` (or ``custom.match``) as in a RegoPolicy; any other
``custom`` field is an error. Other ``.rego`` files under the same policy paths (no
deny/violation, and no kubeward field in a METADATA block they may have for OPA) are libraries
every such policy can import; ``*_test.rego`` files are left to ``opa test``.

A policy's verdict is its package's ``deny`` and/or ``violation`` rule (see
``kubeward.policies.rego.messages``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeward.model import K8sObject, Violation
from kubeward.policies.fields import (
    MATCH_FIELDS,
    NAME_PATTERN,
    Header,
    Invalid,
    PolicyRuntimeError,
    checked_id,
    checked_severity,
    header,
    spec_of,
    target_of,
    text_field,
    unknown,
)
from kubeward.policies.rego import (
    RegoError,
    RegoEvaluationError,
    RegoModule,
    RegoProgram,
    compile_program,
    document,
    encode,
    evaluate,
    evaluate_ahead,
    messages,
    taken,
    values,
)
from kubeward.policies.request import admission_request
from kubeward.rules import Rule, RuleParams
from kubeward.yaml_lines import YamlProblem, load_one, node_line

REGO_KIND = "RegoPolicy"
VERSIONS = ("v0", "v1")
_METADATA = re.compile(r"^[ \t]*#[ \t]*METADATA[ \t]*$", re.M)
_RESULT_RULE = re.compile(r"^(deny|violation)\b", re.M)
CUSTOM_FIELDS = frozenset(
    {"id", "severity", "remediation", "kinds", "workloads", "match", "name", "regoVersion"}
)
"""What kubeward reads in a ``.rego`` file's METADATA ``custom``; anything else is refused."""


@dataclass(frozen=True)
class RegoDefinition:
    """What a Rego policy is, for the commands that need more than its rule (``admission
    export-vap`` names it as not exportable)."""

    program: RegoProgram


def rego_policy_rule(
    document_: Any, node: yaml.Node, file: str, module_prefix: str
) -> tuple[Rule, RegoDefinition]:
    """A ``RegoPolicy`` document's rule; ``Invalid`` with the line of the mistake otherwise."""
    meta, spec = spec_of(document_, node, REGO_KIND)
    head = header(meta, spec, node, frozenset({"rego", "libs", "regoVersion"}))
    version = _version(spec.get("regoVersion"), node_line(node, ("spec", "regoVersion")),
                       "spec.regoVersion")  # fmt: skip
    text_field(spec.get("rego"), "spec.rego", node, "spec", "rego")
    modules = [scalar_module(node, ("spec", "rego"), spec["rego"], file)]
    libs = spec.get("libs") or []
    if not isinstance(libs, list) or not all(isinstance(lib, str) for lib in libs):
        raise Invalid("spec.libs: a list of Rego modules", node_line(node, ("spec", "libs")))
    modules += [scalar_module(node, ("spec", "libs", i), lib, file) for i, lib in enumerate(libs)]
    program = compiled_program(modules, version)
    return rule_for(head, program, file, module_prefix), RegoDefinition(program)


def rego_file_rule(
    path: Path, text: str, libraries: Sequence[RegoModule], module_prefix: str
) -> tuple[Rule, RegoDefinition] | None:
    """The rule of a ``.rego`` policy file; None for a library module; ``Invalid``."""
    shown = str(path)
    block = _metadata_block(text)
    found = _RESULT_RULE.search(text)
    if block is None or (found is None and not _names_a_policy(block[0])):
        if found is None:
            return None
        raise Invalid(
            f"{found.group(1)} is defined but there is no # METADATA block before the package "
            "naming the policy (title; custom: id, severity, remediation, kinds): see "
            "docs/policies.md#rego",
            text.count("\n", 0, found.start()) + 1,
        )
    values, first_line, lines = block
    custom = values.get("custom") or {}
    if not isinstance(custom, dict):
        raise Invalid("METADATA custom: a mapping (id, severity, remediation, kinds...)",
                      lines.get("custom", first_line))  # fmt: skip
    unknown(custom, CUSTOM_FIELDS, "METADATA custom", lambda key: lines.get(key, first_line))

    def text_value(value: Any, what: str, key: str, *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"METADATA {what}: a non-empty string is required",
                          lines.get(key, first_line))  # fmt: skip
        return value.strip()

    rule_id = checked_id(text_value(custom.get("id"), "custom.id", "id"), "METADATA custom.id",
                         lines.get("id", first_line))  # fmt: skip
    severity = checked_severity(
        text_value(custom.get("severity"), "custom.severity", "severity"),
        "METADATA custom.severity", lines.get("severity", first_line),
    )  # fmt: skip
    if "match" in custom:
        if "kinds" in custom or "workloads" in custom:
            raise Invalid("METADATA custom: either match or kinds/workloads, not both",
                          lines.get("match", first_line))  # fmt: skip
        match, what = custom["match"], "METADATA custom.match"
    elif MATCH_FIELDS & set(custom):
        match = {key: custom[key] for key in MATCH_FIELDS if key in custom}
        what = "METADATA custom"
    else:
        match, what = None, "METADATA custom.match"

    def line_of(*key: str | int) -> int:
        found = lines.get(str(key[0])) if key else lines.get("match")
        return found or lines.get("custom", first_line)

    target = target_of(match, line_of, what)
    name = custom.get("name") or path.stem.lower().replace("_", "-")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise Invalid(
            f"METADATA custom.name {name!r} is not kebab-case (it defaults to the file name)",
            lines.get("name", first_line),
        )
    head = Header(
        name=name,
        id=rule_id,
        title=text_value(values.get("title"), "title", "title"),
        severity=severity,
        remediation=text_value(custom.get("remediation"), "custom.remediation", "remediation"),
        description=text_value(values.get("description"), "description", "description",
                               required=False),
        target=target,
    )  # fmt: skip
    version = _version(custom.get("regoVersion"), lines.get("regoVersion", first_line),
                       "METADATA custom.regoVersion")  # fmt: skip
    program = compiled_program([RegoModule(shown, 1, text), *libraries], version)
    return rule_for(head, program, shown, module_prefix), RegoDefinition(program)


def library_module(path: Path, text: str) -> RegoModule | None:
    """A ``.rego`` file other policies may import: no deny/violation, and no METADATA block or
    one without kubeward's ``custom`` fields (OPA's own, such as ``description`` and
    ``scope``, are fine)."""
    if path.name.endswith("_test.rego"):
        return None
    try:
        block = _metadata_block(text)
    except Invalid:
        return None  # a broken METADATA block: reported when the file is read as a policy
    if _RESULT_RULE.search(text) is None and (block is None or not _names_a_policy(block[0])):
        return RegoModule(str(path), 1, text)
    return None


def _names_a_policy(metadata: Mapping[str, Any]) -> bool:
    """Whether a METADATA block names a kubeward field in ``custom``. Without one, and without
    deny/violation, the module is a library documented with OPA's own annotations."""
    custom = metadata.get("custom")
    return isinstance(custom, dict) and bool(CUSTOM_FIELDS & set(custom))


class RegoCheck:
    """A Rego policy's rule check: one finding per message of ``deny``/``violation``."""

    def __init__(
        self,
        program: RegoProgram,
        title: str,
        parameters: Mapping[str, Any] | None = None,
        applies: Callable[[K8sObject], bool] | None = None,
    ) -> None:
        self.program, self.title = program, title
        self.parameters = dict(parameters or {})
        self.applies = applies

    def document(self, obj: K8sObject, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """The input document (``request``: ``admission_request(obj)``, when already made)."""
        if request is None:
            return document(obj, self.parameters)
        return {"request": request, "review": request, "parameters": self.parameters}

    def __call__(self, obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
        if self.applies is not None and not self.applies(obj):
            return
        program = self.program
        try:
            answer = taken((id(self), id(obj)))
            if answer is None:  # not sent ahead
                found = messages(evaluate(program, self.document(obj)), self.title)
            else:
                found = messages(values(program, answer), self.title)
        except RegoEvaluationError as exc:
            if obj.kind == "Secret":  # values are redacted, but an error is withheld all the same
                raise PolicyRuntimeError(
                    f"{program.package}: evaluation failed (details withheld for a Secret)"
                ) from None
            raise PolicyRuntimeError(f"{program.package}: {exc}") from None
        for message in found:
            yield Violation((), message)


@contextmanager
def judged_ahead(rules: Sequence[Rule], obj: K8sObject) -> Iterator[None]:
    """Within the block, every Rego policy among ``rules`` that judges ``obj`` is evaluated in
    the sandbox while the caller runs the others: the evaluations go out together on entry
    (the input document made and encoded once when the policies read the same parts of it),
    and each rule's check takes its answer. Verdicts and errors are those of evaluating one by
    one."""
    jobs: list[tuple[Hashable, RegoProgram, bytes]] = []
    try:
        checks = [r.check for r in rules
                  if isinstance(r.check, RegoCheck) and r.target.matches(obj)]  # fmt: skip
        checks = [c for c in checks if c.applies is None or c.applies(obj)]
        request = admission_request(obj) if checks else {}
        encoded: dict[tuple[tuple[str, ...], int], bytes] = {}
        for check in checks:
            program = check.program
            # policies that read the same parts of the input share its encoding
            own = "parameters" in program.inputs and bool(check.parameters)
            same = (program.inputs, id(check.parameters) if own else 0)
            if same not in encoded:
                encoded[same] = encode(program, check.document(obj, request))
            jobs.append(((id(check), id(obj)), program, encoded[same]))
    except Exception:  # each rule then judges (or fails) on its own turn, as one by one
        jobs.clear()
    if not jobs:
        yield
        return
    with evaluate_ahead(jobs):
        yield


def rule_for(
    head: Header,
    program: RegoProgram,
    file: str,
    module_prefix: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    applies: Callable[[K8sObject], bool] | None = None,
) -> Rule:
    source = "\n".join(m.text.rstrip() for m in program.modules[:1])
    return head.rule(
        file=file,
        module=f"{module_prefix}:{file}",
        example=f"```rego\n{source}\n```",
        check=RegoCheck(program, head.title, parameters, applies),
    )


def compiled_program(modules: Sequence[RegoModule], version: str | None) -> RegoProgram:
    try:
        return compile_program(modules, version)
    except RegoError as exc:
        # the problem is reported against the policy's file; a library's own line is named
        main = modules[0].file
        where = f" ({exc.file}:{exc.line})" if exc.file and exc.file != main else ""
        raise Invalid(f"Rego: {exc}{where}", exc.line if exc.file == main else None) from None


def _version(value: Any, line: int | None, what: str) -> str | None:
    if value is None:
        return None
    if value not in VERSIONS:
        raise Invalid(f"{what}: v0 or v1", line)
    return str(value)


def scalar_module(node: yaml.Node, path: Sequence[str | int], text: str, file: str) -> RegoModule:
    """A module held in a YAML string, with the file line of its first line."""
    value = _value_node(node, path)
    if value is None:
        return RegoModule(file, node_line(node, path) or 1, text)
    block = isinstance(value, yaml.ScalarNode) and value.style in ("|", ">")
    # a block scalar's text starts on the line after its indicator
    return RegoModule(file, value.start_mark.line + (2 if block else 1), text)


def _value_node(root: yaml.Node, path: Sequence[str | int]) -> yaml.Node | None:
    node: yaml.Node | None = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            # the last match, as node_line (a ``<<`` merge puts the merged keys first)
            node = next((v for k, v in reversed(node.value)
                         if isinstance(k, yaml.ScalarNode) and k.value == part), None)  # fmt: skip
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            return None
    return node


def _metadata_block(text: str) -> tuple[dict[str, Any], int, dict[str, int]] | None:
    """The ``# METADATA`` block before the package: (its YAML, the file line of the block's
    first YAML line, the file line of each key it names at any depth)."""
    package = re.search(r"^\s*package\s", text, re.M)
    limit = package.start() if package else len(text)
    found = None
    for candidate in _METADATA.finditer(text, 0, limit):
        found = candidate
    if found is None:
        return None
    lines = text[found.end() :].split("\n")[1:]
    body: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        if not stripped.startswith("#"):
            break
        body.append(stripped[1:])
    first_line = text.count("\n", 0, found.start()) + 2
    source = "\n".join(body)
    try:
        root, values = load_one(source, first_line=first_line)
    except YamlProblem as exc:
        raise Invalid(f"METADATA: {exc.message}", exc.line or first_line) from None
    if not isinstance(values, dict):
        raise Invalid("METADATA: a YAML mapping (title, description, custom)", first_line)
    key_lines: dict[str, int] = {}

    def visit(node: yaml.Node | None) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    key_lines.setdefault(key.value, first_line + key.start_mark.line)
                visit(value)

    visit(root)
    return values, first_line, key_lines
