"""From manifest text to Kubernetes objects: documents, lists, origins and problems.

Each document is parsed on its own (a broken one costs only itself), through the fast path
when it is provably safe and the exact loader otherwise (see ``yaml_fast``/``yaml_exact``).
Values that are not Kubernetes objects are reported, never silently dropped: a document with
neither ``apiVersion`` nor ``kind`` is counted as skipped and listed as a warning (it is most
likely another tool's YAML), one with only one of them is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from kubeward.errors import ManifestError
from kubeward.model import K8sObject, Path, Problem, ProblemKind, RenderedFrom, format_path
from kubeward.sources import documents, yaml_exact, yaml_fast


class Locator(Protocol):
    def lines(self, paths: Sequence[Path]) -> list[int | None]: ...


ExactLocator = yaml_fast.ExactLines
"""Lines recorded by the exact loader; a missing path takes its deepest recorded parent."""


class FixedLocator:
    """Every path is on one line (objects whose source text is not available)."""

    __slots__ = ("line",)

    def __init__(self, line: int | None) -> None:
        self.line = line

    def lines(self, paths: Sequence[Path]) -> list[int | None]:
        return [self.line] * len(paths)


@dataclass(slots=True)
class Document:
    """A parsed document: its value, where it starts and how to find lines in it."""

    value: Any
    line: int
    """The document's first content line (the exact loader) or its span's first line."""
    locator: Locator
    text: bytes | memoryview | None = None
    text_line: int | None = None
    """The file line where ``text`` starts (its ``---`` line, if it has one): both loaders agree
    here, unlike ``line``, so rendered output is mapped from it."""


@dataclass(slots=True)
class ParsedText:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _parse_error(file: str, exc: ManifestError) -> Problem:
    return Problem(kind=ProblemKind.PARSE, file=file, line=exc.line, message=exc.detail)


def _exact(
    text: bytes | memoryview,
    first_line: int,
    file: str,
    out: ParsedText,
    *,
    keep_text: bool,
    limits: bool = True,
) -> None:
    try:
        text_str = bytes(text).decode("utf-8")
        for doc in yaml_exact.load(text_str, first_line=first_line, limits=limits):
            for path, first, again in doc.duplicates:
                out.problems.append(
                    Problem(
                        kind=ProblemKind.PARSE,
                        file=file,
                        line=again,
                        message=f"duplicate key {format_path(path)} (also on line {first}); "
                        "Kubernetes keeps the last value, and so does kubeward",
                    )
                )
            locator = ExactLocator(doc.lines, doc.start_line)
            out.documents.append(
                Document(
                    doc.value,
                    doc.start_line,
                    locator,
                    text if keep_text else None,
                    first_line if keep_text else None,
                )
            )
    except ManifestError as exc:
        out.problems.append(_parse_error(file, exc))


def _fast_document(  # noqa: PLR0917 - one private call site per parse mode
    data: bytes,
    span: documents.Span,
    value: Any,
    suspicious: bool,
    buffer: yaml_fast.ParsedBuffer,
    index: int | None,
) -> Document | None:
    """The fast path's document, or None when its text has a plain YAML 1.1 scalar."""
    if suspicious and yaml_fast.plain_special(data[span.start : span.end]):
        return None
    locator = yaml_fast.FastLocator(buffer, index, span.start, span.end, span.line)
    return Document(value, span.line, locator, memoryview(data)[span.start : span.end], span.line)


def parse_yaml(data: bytes, file: str) -> ParsedText:
    """Parse a YAML stream (UTF-8, already validated) into documents and parse problems."""
    out = ParsedText()
    spans = documents.split_documents(data)
    if spans is None:
        _exact(data, 1, file, out, keep_text=False)
        return out
    # Documents are parts of the stream (each after the first starts with its "---" line),
    # so a stream without such structure has none in any document: one pass decides.
    if yaml_fast.structure_outside_nesting(data):
        structural = [yaml_fast.structure_needs_exact(data[s.start : s.end]) for s in spans]
    else:
        structural = [yaml_fast.too_nested(data, s.start, s.end) for s in spans]
    if spans and not any(structural) and _whole_stream(data, spans, file, out):
        return out
    view = memoryview(data)
    for span, exact in zip(spans, structural, strict=True):
        text = view[span.start : span.end]
        if not exact:
            try:
                values, nodes = yaml_fast.parse_stream(text)
            except yaml_fast.FastPathRejected:
                values, nodes = [], -1
            if len(values) == 1:
                count, suspicious = yaml_fast.scan_values(values[0])
                if nodes == 1 + count:
                    buffer = yaml_fast.ParsedBuffer(data, span.start, span.end)
                    doc = _fast_document(data, span, values[0], suspicious, buffer, None)
                    if doc is not None:
                        out.documents.append(doc)
                        continue
        _exact(text, span.line, file, out, keep_text=True)
    return out


def _whole_stream(data: bytes, spans: list[documents.Span], file: str, out: ParsedText) -> bool:
    """Parse the whole stream at once (the common case); False if it must go document by
    document (a parse error, a duplicate key, or the splitter and rapidyaml disagree)."""
    try:
        values, nodes = yaml_fast.parse_stream(data)
    except yaml_fast.FastPathRejected:
        return False
    if len(values) != len(spans):
        return False
    scans = [yaml_fast.scan_values(v) for v in values]
    if nodes != len(values) + sum(count for count, _ in scans):
        return False
    view = memoryview(data)
    buffer = yaml_fast.ParsedBuffer(data, 0, len(data))
    for index, (span, value, (_, suspicious)) in enumerate(zip(spans, values, scans, strict=True)):
        doc = _fast_document(data, span, value, suspicious, buffer, index)
        if doc is None:
            _exact(view[span.start : span.end], span.line, file, out, keep_text=True)
        else:
            out.documents.append(doc)
    return True


def parse_json(data: bytes, file: str) -> ParsedText:
    """Parse a JSON file: one value (or a top-level array of objects)."""
    out = ParsedText()
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = data.count(b"\n", 0, exc.pos) + 1
        out.problems.append(
            Problem(
                kind=ProblemKind.PARSE, file=file, line=line, message=f"invalid JSON: {exc.msg}"
            )
        )
        return out
    # Locations and duplicate keys come from the YAML view of the same text (JSON is YAML).
    # rapidyaml's tree locates when it has exactly the nodes of orjson's value (a duplicate
    # key would add one: orjson keeps only the last); otherwise the exact loader reports it.
    try:
        nodes = yaml_fast.node_count(data)
    except yaml_fast.FastPathRejected:
        nodes = -1
    if nodes == 1 + yaml_fast.scan_values(value)[0]:
        buffer = yaml_fast.ParsedBuffer(data, 0, len(data))
        fast = yaml_fast.FastLocator(buffer, None, 0, len(data), 1)
        out.documents.append(Document(value, 1, fast, data, 1))
        return out
    # Without the exact loader's limits: they bound alias expansion and nesting, and JSON has
    # no aliases, its nesting is bounded by orjson, and its size by the file size limit; with
    # them, a large `kubectl get -o json` dump put every finding on line 1.
    structure = ParsedText()
    _exact(data, 1, file, structure, keep_text=False, limits=False)
    located = structure.documents[0] if len(structure.documents) == 1 else None
    out.problems.extend(p for p in structure.problems if p.message.startswith("duplicate key"))
    locator: Locator = located.locator if located is not None else FixedLocator(1)
    out.documents.append(Document(value, 1, locator, data, 1))
    return out


class DocumentOrigin:
    """Where an object came from: a document of a file (or of rendered output)."""

    __slots__ = ("_base", "_locator", "_map_line", "file", "line", "rendered_from")

    def __init__(
        self,
        file: str | None,
        line: int | None,
        locator: Locator,
        *,
        base: Path = (),
        rendered_from: RenderedFrom | None = None,
        map_line: Callable[[int], int] | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self._locator = locator
        self._base = base
        self.rendered_from = rendered_from
        self._map_line = map_line

    def lines(self, paths: Sequence[Path]) -> list[int | None]:
        base = self._base
        lines = self._locator.lines([(*base, *p) for p in paths] if base else paths)
        if self._map_line is None:
            return lines
        mapper = self._map_line
        return [mapper(n) if n is not None else None for n in lines]


@dataclass(slots=True)
class ObjectsFromText:
    objects: list[K8sObject] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    documents: int = 0
    skipped: int = 0


def is_list(value: dict[str, Any]) -> bool:
    """``kind: List`` or ``*List`` with ``items`` (a custom kind may end in "List" too: without
    ``items`` it is an object)."""
    kind = value.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in value


def objects_from_documents(
    docs: Sequence[Document],
    *,
    file: str | None,
    deploy_namespace: str | None,
    origin_for: Callable[[Document, Path], DocumentOrigin] | None = None,
    out: ObjectsFromText | None = None,
) -> ObjectsFromText:
    """Turn parsed documents into objects, flattening ``kind: List`` / ``*List``."""
    collector = _Collector(
        out if out is not None else ObjectsFromText(), file, deploy_namespace, origin_for
    )
    for doc in docs:
        if doc.value is None:
            continue
        collector.out.documents += 1
        if isinstance(doc.value, list) and file is not None and file.lower().endswith(".json"):
            for index, item in enumerate(doc.value):
                collector.visit(item, doc, (index,))
            continue
        collector.visit(doc.value, doc, ())
    return collector.out


@dataclass(slots=True)
class _Collector:
    # A class rather than nested functions: a self-recursive closure is a reference cycle,
    # which would keep every object alive while the cyclic collector is paused or frozen.
    out: ObjectsFromText
    file: str | None
    deploy_namespace: str | None
    origin_for: Callable[[Document, Path], DocumentOrigin] | None

    def origin(self, doc: Document, base: Path) -> DocumentOrigin:
        if self.origin_for is not None:
            return self.origin_for(doc, base)
        line = doc.locator.lines([base])[0] if base else doc.line
        return DocumentOrigin(self.file, line, doc.locator, base=base)

    def problem(self, line: int | None, message: str) -> Problem:
        return Problem(kind=ProblemKind.OBJECT, file=self.file, line=line, message=message)

    def visit(self, value: Any, doc: Document, base: Path) -> None:
        where = doc.locator.lines([base])[0] if base else doc.line
        if not isinstance(value, dict):
            message = f"expected a Kubernetes object (a mapping), got {_kind_of(value)}"
            self.out.problems.append(self.problem(where, message))
            return
        if is_list(value):
            items = value["items"]
            if isinstance(items, list):
                for index, item in enumerate(items):
                    self.visit(item, doc, (*base, "items", index))
            elif items is not None:  # null: an empty list, as kubectl reads it
                line = doc.locator.lines([(*base, "items")])[0]
                message = f"{value['kind']}: items must be a list of objects, got {_kind_of(items)}"
                self.out.problems.append(self.problem(line, message))
            return
        api_version, kind = value.get("apiVersion"), value.get("kind")
        if api_version is None and kind is None:
            self.out.skipped += 1
            message = "skipped: not a Kubernetes object (no apiVersion and no kind)"
            self.out.warnings.append(self.problem(where, message))
            return
        if not isinstance(api_version, str) or not api_version:
            self.out.problems.append(self.problem(where, _INVALID_OBJECT.format("apiVersion")))
            return
        if not isinstance(kind, str) or not kind:
            self.out.problems.append(self.problem(where, _INVALID_OBJECT.format("kind")))
            return
        obj = K8sObject(value, self.origin(doc, base), deploy_namespace=self.deploy_namespace)
        self.out.objects.append(obj)


_INVALID_OBJECT = "not a valid Kubernetes object: {} is missing or not a string"


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__
