"""Turning the paths a user names into an inventory of objects, with every problem recorded.

Nothing is lost: a file that cannot be read or parsed, a chart that does not render, a
document that is not an object each become a ``Problem`` with file and line, and everything
else is still loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path as FsPath
from typing import Any, BinaryIO

import yaml

from kubeward.errors import RenderError, SourceError
from kubeward.model import K8sObject, Path, Problem, ProblemKind, RenderedFrom
from kubeward.model.objects import api_group
from kubeward.sources import helm, kustomize
from kubeward.sources.inputs import (
    DEFAULT_MAX_FILE_SIZE,
    Input,
    InputKind,
    discover,
    display_path,
    read_file,
    read_stream,
    unrendered_manifests,
)
from kubeward.sources.manifests import (
    Document,
    DocumentOrigin,
    FixedLocator,
    ObjectsFromText,
    ParsedText,
    is_list,
    objects_from_documents,
    parse_json,
    parse_yaml,
)

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    deploy_namespace: str | None = None
    """Namespace that namespace-less manifests will be deployed into (``--namespace``)."""
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    helm: helm.HelmOptions = field(default_factory=helm.HelmOptions)
    stdin: BinaryIO | None = None


@dataclass
class Loaded:
    objects: list[K8sObject] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    skipped_documents: int = 0

    def add(self, part: ObjectsFromText) -> None:
        self.objects.extend(part.objects)
        self.errors.extend(part.problems)
        self.warnings.extend(part.warnings)
        self.documents += part.documents
        self.skipped_documents += part.skipped


def _problem(kind: ProblemKind, exc: SourceError, file: str | None = None) -> Problem:
    return Problem(kind=kind, file=exc.file or file, line=exc.line, message=exc.detail)


def load(paths: Sequence[str], options: LoadOptions, progress: Progress | None = None) -> Loaded:
    """Load every input named by ``paths``."""
    inputs, missing = discover(paths)
    result = load_inputs(inputs, options, progress)
    result.errors[:0] = [_problem(ProblemKind.INPUT, exc) for exc in missing]
    return result


def load_inputs(
    inputs: Sequence[Input], options: LoadOptions, progress: Progress | None = None
) -> Loaded:
    """Load already discovered inputs (see ``inputs.discover``)."""
    result = Loaded(inputs=list(inputs))
    for done, item in enumerate(inputs):
        if progress is not None:
            progress(done, len(inputs), item.path)
        try:
            if item.kind is InputKind.FILE:
                _load_file(item.path, options, result)
            elif item.kind is InputKind.STDIN:
                data = read_stream(options.stdin, max_size=options.max_file_size)
                result.files += 1
                parsed = parse_yaml(data, item.path)
                result.errors.extend(parsed.problems)
                result.add(
                    objects_from_documents(
                        parsed.documents, file=item.path, deploy_namespace=options.deploy_namespace
                    )
                )
            elif item.kind is InputKind.HELM:
                _load_chart(item.path, options, result)
            else:
                _load_kustomization(item.path, options, result)
        except SourceError as exc:
            kind = {
                InputKind.HELM: ProblemKind.RENDER,
                InputKind.KUSTOMIZE: ProblemKind.RENDER,
            }.get(item.kind, ProblemKind.INPUT)
            result.errors.append(_problem(kind, exc, item.path))
    if progress is not None:
        progress(len(inputs), len(inputs), "")
    result.warnings.extend(_unscanned_chart_files(inputs))
    result.objects = apply_declared_scopes(result.objects, options.deploy_namespace)
    return result


def _unscanned_chart_files(inputs: Sequence[Input]) -> list[Problem]:
    """A warning per manifest in a chart directory that Helm does not render and the user did
    not name: it is not scanned, which should not go unsaid."""
    named = {FsPath(item.path).resolve() for item in inputs if item.kind is InputKind.FILE}
    warnings = []
    for item in inputs:
        if item.kind is not InputKind.HELM:
            continue
        try:
            files = unrendered_manifests(FsPath(item.path))
        except OSError:  # an unreadable chart is already an error of its render
            continue
        for path in files:
            if path.resolve() in named:
                continue
            shown = display_path(path)
            message = (
                f"not scanned: a manifest in Helm chart {item.path} outside templates/, which "
                f"Helm does not render; to scan it, name it: kubeward scan {item.path} {shown}"
            )
            warnings.append(Problem(kind=ProblemKind.INPUT, file=shown, line=None, message=message))
    return warnings


def declared_scopes(objects: Sequence[K8sObject]) -> dict[tuple[str, str], bool]:
    """(API group, kind) → cluster-scoped, for each CustomResourceDefinition among ``objects``
    that says so with ``spec.scope``."""
    found: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.kind != "CustomResourceDefinition":
            continue
        spec = obj.raw.get("spec")
        if not isinstance(spec, dict):
            continue
        names, group, scope = spec.get("names"), spec.get("group"), spec.get("scope")
        kind = names.get("kind") if isinstance(names, dict) else None
        if isinstance(group, str) and isinstance(kind, str) and scope in ("Cluster", "Namespaced"):
            found[(group, kind)] = scope == "Cluster"
    return found


def apply_declared_scopes(
    objects: list[K8sObject], deploy_namespace: str | None
) -> list[K8sObject]:
    """Objects of a kind whose CustomResourceDefinition is in the same scan live where that
    definition says (a namespace-less custom resource of a cluster-scoped kind is not "in the
    default namespace", whatever kubeward's own table of kinds says)."""
    scopes = declared_scopes(objects)
    if not scopes:
        return objects
    out = []
    for obj in objects:
        declared = scopes.get((api_group(obj.api_version), obj.kind))
        if declared is None or declared == (obj.namespace_source == "cluster"):
            out.append(obj)
        else:
            out.append(
                K8sObject(
                    obj.raw, obj.origin, deploy_namespace=deploy_namespace, cluster_scoped=declared
                )
            )
    return out


def _parse(data: bytes, name: str) -> ParsedText:
    if name.lower().endswith(".json"):
        return parse_json(data, name)
    return parse_yaml(data, name)


def _load_file(path: str, options: LoadOptions, result: Loaded) -> None:
    data = read_file(path, max_size=options.max_file_size)
    result.files += 1
    parsed = _parse(data, path)
    result.errors.extend(parsed.problems)
    result.add(
        objects_from_documents(
            parsed.documents, file=path, deploy_namespace=options.deploy_namespace
        )
    )


def _load_chart(chart: str, options: LoadOptions, result: Loaded) -> None:
    namespace = options.deploy_namespace or os.environ.get("HELM_NAMESPACE") or None
    output = helm.render(chart, namespace=namespace, options=options.helm)
    result.files += 1
    parsed = parse_yaml(output, chart)
    result.errors.extend(_rendered_problems(parsed.problems, output, chart))

    def origin_for(doc: Document, base: Path) -> DocumentOrigin:
        # The line where the document's text (its "---" line) starts, whichever loader read it
        # (the exact loader's ``doc.line`` is its first content line).
        start = doc.text_line if doc.text_line is not None else doc.line
        found = helm.template_of(chart, doc.text, start) if doc.text is not None else None
        rendered_line = doc.locator.lines([base])[0] if base else start
        info = RenderedFrom(tool="helm", root=chart, rendered_line=rendered_line)
        if found is None:
            return DocumentOrigin(chart, rendered_line, doc.locator, base=base, rendered_from=info)
        template, mapping = found
        if mapping is None:
            # No template file to point into (a packaged subchart): the file, without a line;
            # a rendered line there would point at unrelated text.
            return DocumentOrigin(template, None, FixedLocator(None), base=base, rendered_from=info)
        line = mapping.map(rendered_line) if rendered_line else rendered_line
        return DocumentOrigin(
            template,
            line,
            doc.locator,
            base=base,
            rendered_from=info,
            map_line=mapping.map,
        )

    result.add(
        objects_from_documents(
            parsed.documents, file=chart, deploy_namespace=namespace, origin_for=origin_for
        )
    )


_ALSO_ON_LINE = re.compile(r"\(also on line (\d+)\)")


def _rendered_problems(problems: list[Problem], output: bytes, chart: str) -> list[Problem]:
    """Parse problems of Helm's output, placed in the template they come from where its
    ``# Source:`` line says (else in the chart, at the rendered line)."""
    lines = output.split(b"\n")
    out = []
    for problem in problems:
        found = _template_of(lines, problem.line, chart) if problem.line else None
        if found is None or problem.line is None:
            out.extend(_relabel([problem], chart, "rendered output of "))
            continue
        template, to_template = found
        where = f"(helm template {chart}, rendered line {problem.line})"
        if to_template is None:  # a packaged subchart: no template lines to point at
            message = f"{problem.message} {where}"
            out.append(Problem(kind=problem.kind, file=template, line=None, message=message))
            continue
        message = _ALSO_ON_LINE.sub(partial(_also_on, to_template), problem.message)
        out.append(
            Problem(
                kind=problem.kind,
                file=template,
                line=to_template(problem.line),
                message=f"{message} {where}",
            )
        )
    return out


def _also_on(to_template: Callable[[int], int], match: re.Match[str]) -> str:
    return f"(also on line {to_template(int(match.group(1)))})"


def _template_of(
    lines: list[bytes], line: int, chart: str
) -> tuple[str, Callable[[int], int] | None] | None:
    """The template of rendered line ``line`` and the mapping of its document's lines (None
    for a template in a packaged subchart, whose ``.tgz`` is then named)."""
    source_at = next(
        (i for i in range(min(line, len(lines)) - 1, -1, -1) if lines[i].startswith(b"# Source: ")),
        None,
    )
    if source_at is None:
        return None
    start = source_at - 1 if source_at and lines[source_at - 1].rstrip() == b"---" else source_at
    end = next(
        (i for i in range(source_at + 1, len(lines)) if lines[i].rstrip() == b"---"), len(lines)
    )
    found = helm.template_of(chart, b"\n".join(lines[start:end]), start + 1)
    if found is None:
        return None
    template, mapping = found
    if mapping is None and os.path.isfile(template) and not template.endswith(".tgz"):
        return None  # an unreadable template: the rendered output is the best place
    return template, mapping.map if mapping is not None else None


def _relabel(problems: list[Problem], root: str, prefix: str) -> list[Problem]:
    return [
        Problem(kind=p.kind, file=root, line=p.line, message=f"{prefix}{root}: {p.message}")
        for p in problems
    ]


def _load_kustomization(directory: str, options: LoadOptions, result: Loaded) -> None:
    try:
        output = kustomize.render(directory)
    except RenderError as exc:
        raise _placed(exc, directory) from None
    result.files += 1
    parsed = parse_yaml(output, directory)
    result.errors.extend(_relabel(parsed.problems, directory, "rendered output of "))
    origins = _kustomize_origins(directory, len(parsed.documents), options)
    info = RenderedFrom(tool="kustomize", root=directory)
    position = {id(doc): index for index, doc in enumerate(parsed.documents)}

    def origin_for(doc: Document, base: Path) -> DocumentOrigin:
        index = position[id(doc)]
        found = origins[index] if index < len(origins) else None
        if found is not None:
            return found
        return DocumentOrigin(directory, None, FixedLocator(None), base=base, rendered_from=info)

    result.add(
        objects_from_documents(
            parsed.documents,
            file=directory,
            deploy_namespace=options.deploy_namespace,
            origin_for=origin_for,
        )
    )


def _placed(exc: RenderError, directory: str) -> RenderError:
    """A failed render, reported against the kustomization file that does not parse (kustomize
    names neither the file nor, for a base, which one) when there is one."""
    broken = kustomize.broken_kustomization(directory) if exc.file is None else None
    if broken is None:
        return exc
    file, line, _ = broken
    # kustomize's parser is go-yaml, whose line is the one Kubernetes users know; ours (the
    # fallback) may name where the parser gave up, a line later
    said = _INVALID_KUSTOMIZATION.search(exc.detail)
    line = int(said.group(1)) if said else line
    return RenderError(exc.detail, file=display_path(FsPath(file)), line=line)


_INVALID_KUSTOMIZATION = re.compile(r"invalid Kustomization: yaml: line (\d+):")


def _kustomize_origins(
    directory: str, count: int, options: LoadOptions
) -> list[DocumentOrigin | None]:
    """Per rendered document, the resource file (and document in it) it came from."""
    rendered = kustomize.render_with_origins(directory)
    if rendered is None:
        return []
    output, wrapper = rendered
    annotated = parse_yaml(output, directory)
    if len(annotated.documents) != count:
        return []
    info = RenderedFrom(tool="kustomize", root=directory)
    sources: dict[str, ParsedText | None] = {}
    affixes = kustomize.name_affixes(directory)
    origins: list[DocumentOrigin | None] = []
    for doc in annotated.documents:
        origins.append(
            _origin_of(doc.value, wrapper, sources, info, options=options, affixes=affixes)
        )
    return origins


def _origin_of(
    value: Any,
    wrapper: str,
    sources: dict[str, ParsedText | None],
    info: RenderedFrom,
    *,
    options: LoadOptions,
    affixes: dict[str, set[tuple[str, str]]],
) -> DocumentOrigin | None:
    if not isinstance(value, dict):
        return None
    annotations = _mapping(_mapping(value.get("metadata")).get("annotations"))
    raw = annotations.get(kustomize.ORIGIN_ANNOTATION)
    try:
        origin = yaml.safe_load(raw) if isinstance(raw, str) else None
    except (yaml.YAMLError, ValueError):  # ValueError: a value PyYAML cannot build (a date)
        return None
    if not isinstance(origin, dict):
        return None
    relative = origin.get("path") or origin.get("configuredIn")
    if not isinstance(relative, str) or "://" in relative:
        return None
    path = os.path.realpath(os.path.join(wrapper, relative))
    shown = display_path(FsPath(path))
    if path not in sources:
        try:
            sources[path] = parse_yaml(read_file(path, max_size=options.max_file_size), shown)
        except SourceError:
            sources[path] = None
    parsed = sources[path]
    if parsed is None or not parsed.documents:
        return DocumentOrigin(shown, 1, FixedLocator(1), rendered_from=info)
    if "path" not in origin:
        # A generator: point at its entry in the kustomization.
        doc = parsed.documents[0]
        generator = str(_mapping(origin.get("configuredBy")).get("kind", ""))
        key = generator[0].lower() + generator[1:] if generator else ""
        line = doc.locator.lines([(key,)])[0] if key else doc.line
        return DocumentOrigin(shown, line, FixedLocator(line), rendered_from=info)
    doc, base = _matching_document(parsed.documents, value, affixes.get(path, ()))
    line = doc.locator.lines([base])[0] if base else doc.line
    return DocumentOrigin(shown, line, doc.locator, base=base, rendered_from=info)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class _Candidate:
    """An object of a resource file that a rendered object may come from."""

    doc: Document
    base: Path
    """Where in the document (inside a ``kind: List``'s items, or the whole document)."""
    kind: Any
    name: str
    namespace: str | None


def _candidates(doc: Document, value: Any, base: Path) -> Iterator[_Candidate]:
    if not isinstance(value, dict):
        return
    items = value.get("items")
    if is_list(value) and isinstance(items, list):
        for index, item in enumerate(items):
            yield from _candidates(doc, item, (*base, "items", index))
        return
    meta = _mapping(value.get("metadata"))
    name, namespace = meta.get("name"), meta.get("namespace")
    yield _Candidate(
        doc,
        base,
        value.get("kind"),
        name if isinstance(name, str) else "",
        namespace if isinstance(namespace, str) else None,
    )


def _matching_document(
    docs: list[Document], value: dict[str, Any], affixes: Iterable[tuple[str, str]] = ()
) -> tuple[Document, Path]:
    """The resource document (and place in it) a rendered object came from.

    Same kind, preferring the same namespace (an overlay may have changed it); then the name
    that gives the rendered one with the kustomizations' ``namePrefix``/``nameSuffix``, the
    same name, and last the longest name contained in the rendered one (kustomize adds
    prefixes, suffixes and hashes): a file may hold both ``web`` and ``web-admin``.
    """
    meta = _mapping(value.get("metadata"))
    name = _text(meta.get("name"))
    namespace = meta.get("namespace")
    kind = value.get("kind")
    same_kind = [c for doc in docs for c in _candidates(doc, doc.value, ()) if c.kind == kind]
    same_namespace = [c for c in same_kind if c.namespace in (None, namespace)]
    pools = (same_namespace, same_kind)
    wanted = [
        name[len(prefix) : len(name) - len(suffix)]
        for prefix, suffix in sorted(affixes)
        if (prefix or suffix)
        and len(name) > len(prefix) + len(suffix)
        and name.startswith(prefix)
        and name.endswith(suffix)
    ]
    for want in (*wanted, name):
        for pool in pools:
            exact = next((c for c in pool if c.name == want), None)
            if exact is not None:
                return exact.doc, exact.base
    for pool in pools:
        contained = [c for c in pool if c.name and c.name in name]
        if contained:
            best = max(contained, key=lambda c: len(c.name))
            return best.doc, best.base
    return (same_kind[0].doc, same_kind[0].base) if same_kind else (docs[0], ())
