"""Helm charts, rendered with ``helm template`` and mapped back to their template files.

Each rendered document carries a ``# Source: <chart>/templates/<file>`` comment; findings are
reported against that template file. The line is mapped from the rendered output onto the
template by aligning the two (see ``TemplateLines``); the rendered line is kept in
``renderedFrom.renderedLine``. A template inside a packaged (``.tgz``) subchart has no file to
point into: such findings name the ``.tgz`` without a line.
"""

from __future__ import annotations

import bisect
import difflib
import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from kubeward.errors import RenderError
from kubeward.sources.tools import find_tool, run_tool

HELM_ENV = "KUBEWARD_HELM"
_SOURCE = re.compile(rb"^# Source: (.+?)\s*$", re.M)
_ERROR_AT = re.compile(r"(?:\bat \(|\btemplate: )([^\s():]+):(\d+)(?::\d+)?[):]")
"""Where Helm says a template failed: ``at (chart/templates/x.yaml:6:8)`` or
``template: chart/templates/x.yaml:6:8:`` (a template line, unlike the rendered-YAML lines of
"YAML parse error on ...")."""


@dataclass(frozen=True, slots=True)
class HelmOptions:
    release: str = "kubeward"
    values_files: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    set_string_values: tuple[str, ...] = ()
    kube_version: str | None = None


def render(chart: str, *, namespace: str | None, options: HelmOptions) -> bytes:
    """``helm template`` the chart; raises ``RenderError`` (loudly) on any failure."""
    helm = find_tool("helm", HELM_ENV)
    if helm is None:
        raise RenderError(
            f"{chart} is a Helm chart, but helm is not installed: install Helm 3 or set "
            f"{HELM_ENV} (for development, `make tools` builds it)"
        )
    argv = [helm, "template", options.release, chart]
    if namespace:
        argv += ["--namespace", namespace]
    for values_file in options.values_files:
        argv += ["--values", values_file]
    for assignment in options.set_values:
        argv += ["--set", assignment]
    for assignment in options.set_string_values:
        argv += ["--set-string", assignment]
    if options.kube_version:
        argv += ["--kube-version", options.kube_version]
    try:
        return run_tool(argv, what=f"helm template {chart}")
    except RenderError as exc:
        # "execution error at (web/templates/x.yaml:6:8): need foo", "template:
        # web/templates/x.yaml:6:8: executing ...": a template line, so point at it
        found = _ERROR_AT.search(exc.detail)
        if found is None:
            raise
        where, is_template = template_file(chart, found.group(1))
        line = int(found.group(2)) if is_template else None
        raise RenderError(exc.detail, file=where, line=line) from None


def template_source(document: bytes | memoryview) -> str | None:
    """The ``# Source:`` path of a rendered document (``chart/templates/x.yaml``)."""
    head = bytes(document[:4096])
    match = _SOURCE.search(head)
    return match.group(1).decode("utf-8", "replace") if match else None


def template_file(chart: str, source: str) -> tuple[str, bool]:
    """Where Helm's ``source`` (``web/charts/db/templates/x.yaml``) is in chart dir ``chart``,
    and whether that is the template file itself.

    Helm names a subchart by its alias, or by its chart name whatever its directory (or
    ``.tgz``) is called, so each ``charts/<name>`` step is resolved through the dependencies
    of the chart above. A template inside a ``.tgz`` (or not found at all) gives the ``.tgz``
    (or the deepest chart directory found) and False: no line of the rendered output or of
    Helm's messages may be reported against it.
    """
    _, _, inside = source.partition("/")
    parts = (inside or source).split("/")
    root = chart
    while len(parts) > 2 and parts[0] == "charts":
        found = _subchart(root, parts[1])
        if found is None:
            return os.path.normpath(root), False
        if not os.path.isdir(found):
            return os.path.normpath(found), False
        root, parts = found, parts[2:]
    path = os.path.normpath(os.path.join(root, *parts))
    if not os.path.isfile(path):
        return os.path.normpath(root), False
    return path, True


def _subchart(root: str, name: str) -> str | None:
    """The directory (or ``.tgz``) under ``root/charts`` of the subchart Helm calls ``name``."""
    real = _aliases(root).get(name, name)
    charts = os.path.join(root, "charts")
    candidates = [os.path.join(charts, real)]
    try:
        candidates += sorted(
            entry.path for entry in os.scandir(charts) if entry.is_dir() and entry.name != real
        )
    except OSError:
        return None
    for directory in candidates:
        if os.path.isdir(directory) and _chart_name(directory) in (real, None):
            return directory
    # ``helm dependency build`` leaves ``<name>-<version>.tgz``
    packaged = sorted(glob.glob(os.path.join(glob.escape(charts), f"{glob.escape(real)}-*.tgz")))
    return next((p for p in packaged if p[len(charts) + len(real) + 2 :][:1].isdigit()), None)


def _chart_metadata(root: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(root, name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _chart_name(directory: str) -> str | None:
    """The ``name`` of the chart in ``directory`` (None when its Chart.yaml does not say)."""
    name = _chart_metadata(directory, "Chart.yaml").get("name")
    return name if isinstance(name, str) else None


def _aliases(root: str) -> dict[str, str]:
    """Alias → chart name of the dependencies of the chart in ``root`` (``requirements.yaml``
    for apiVersion v1 charts)."""
    out: dict[str, str] = {}
    for file in ("Chart.yaml", "requirements.yaml"):
        dependencies = _chart_metadata(root, file).get("dependencies")
        for dependency in dependencies if isinstance(dependencies, list) else []:
            if not isinstance(dependency, dict):
                continue
            alias, name = dependency.get("alias"), dependency.get("name")
            if isinstance(alias, str) and isinstance(name, str):
                out[alias] = name
    return out


def template_of(
    chart: str, document: bytes | memoryview, first_line: int
) -> tuple[str, TemplateLines | None] | None:
    """The file a rendered document comes from (its ``# Source:`` line) and the map of its
    lines onto it; the map is None when there is no template file to read (a packaged
    subchart: the file is then its ``.tgz``), and the whole answer None without a source.
    ``first_line`` is the rendered line where ``document`` starts."""
    source = template_source(document)
    if source is None:
        return None
    template, is_template = template_file(chart, source)
    if not is_template:
        return template, None
    return template, TemplateLines.load(document, first_line, template)


class _Kind(Enum):
    BLANK = 0
    LITERAL = 1
    """Text of its own (maybe with actions inside: ``name: {{ .Release.Name }}``)."""
    OUTPUT = 2
    """Only actions, and one of them writes text (``{{- toYaml . | nindent 8 }}``)."""
    CONTROL = 3
    """Only actions that write nothing (``{{- if ... }}``, ``{{- end }}``, comments)."""


_ACTION = re.compile(r"\{\{.*?\}\}", re.S)
_CONTROL = re.compile(
    r"\{\{-?\s*(?:/\*|(?:if|else|end|with|range|define|break|continue)\b|\$\w*\s*:?=)"
)
_WRITES, _SILENT = "\x01", "\x02"


@dataclass(frozen=True, slots=True)
class _TemplateLine:
    kind: _Kind
    text: str
    """Stripped, with each action replaced by a marker."""
    pattern: re.Pattern[str] | None
    """For literal lines with actions: the rendered lines they can produce."""
    indent: int


def _template_lines(template: list[str]) -> list[_TemplateLine]:
    """Classify template lines; an action spanning lines belongs to its first line."""

    def marker(match: re.Match[str]) -> str:
        action = match.group(0)
        return (_SILENT if _CONTROL.match(action) else _WRITES) + "\n" * action.count("\n")

    out = []
    for line in _ACTION.sub(marker, "\n".join(template)).split("\n"):
        text = line.strip()
        literal = text.replace(_WRITES, "").replace(_SILENT, "")
        indent = len(line) - len(line.lstrip())
        if not text:
            out.append(_TemplateLine(_Kind.BLANK, "", None, indent))
        elif not literal.strip():
            kind = _Kind.OUTPUT if _WRITES in text else _Kind.CONTROL
            out.append(_TemplateLine(kind, text, None, indent))
        else:
            pattern = None
            if _WRITES in text or _SILENT in text:
                pieces = re.split(f"[{_WRITES}{_SILENT}]", text)
                pattern = re.compile(".*".join(re.escape(p) for p in pieces))
            out.append(_TemplateLine(_Kind.LITERAL, text, pattern, indent))
    return out


_FUZZY_CELLS = 100_000
"""Largest gap (rendered lines times template lines) aligned line by line; beyond it only the
exact matches anchor (the alignment is quadratic in the gap)."""


def _editor_lines(text: str) -> list[str]:
    """``text``'s lines as editors (and kubeward's line numbers) count them: broken at LF, CRLF
    and CR only; ``str.splitlines`` also breaks at NEL, LS, PS and form feeds."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


@dataclass
class TemplateLines:
    """Maps lines of one rendered document onto its template file.

    A template may hold several documents, and Helm reorders rendered documents by kind, so the
    template document is chosen first (the one sharing most lines with the rendered one). The
    rendered lines are then aligned with it, in order: identical lines first (difflib's matching
    blocks, so a line repeated in the template, such as a second container's ``image:``, goes
    to the copy in the same place), then, between those anchors, lines a template line with
    actions can produce (``name: {{ .Release.Name }}``) or with the same key. A rendered line
    left over was written by an action: it maps to the line of the action that writes text
    between its neighbouring anchors (``{{- toYaml .Values.securityContext | nindent 12 }}``),
    else to its nearest aligned parent key, else to the anchor before it. It never maps by
    position alone, which drifts into other blocks as soon as an action writes a few lines.
    """

    rendered: list[str]
    rendered_first_line: int
    """The rendered line of ``rendered[0]`` (the document's ``---`` line)."""
    template: list[str]
    _chunk: tuple[int, int] = field(init=False)
    _to_template: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self._chunk = self._best_chunk()
        self._to_template = self._align()

    def _best_chunk(self) -> tuple[int, int]:
        bounds = [i for i, line in enumerate(self.template) if line.startswith("---")]
        starts = [0, *[b + 1 for b in bounds]]
        ends = [*bounds, len(self.template)]
        wanted = {line.strip() for line in self.rendered if line.strip()}
        stripped = [line.strip() for line in self.template]
        best, best_score = (0, len(self.template)), -1
        for start, end in zip(starts, ends, strict=True):
            score = sum(1 for line in stripped[start:end] if line in wanted)
            if score > best_score:
                best, best_score = (start, end), score
        return best

    @classmethod
    def load(cls, rendered: bytes | memoryview, first_line: int, path: str) -> TemplateLines | None:
        try:
            template = _editor_lines(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
        return cls(_editor_lines(bytes(rendered).decode("utf-8", "replace")), first_line, template)

    def _align(self) -> list[int]:
        """Template index (0-based, in the whole file) of each rendered line."""
        start, end = self._chunk
        lines = _template_lines(self.template[start:end])
        rendered = [_RenderedLine.of(line) for line in self.rendered]
        matched = _match(rendered, lines)
        out = [start + found for found in _fill(matched, rendered, lines)]
        # The "---" / "# Source:" head (and any blank lines before the object) is where the
        # object starts: the template line of its first line.
        first = next((i for i, r in enumerate(rendered) if r.key_text), None)
        for index in range(first if first is not None else len(out)):
            out[index] = out[first] if first is not None else start
        return out

    def map(self, rendered_line: int) -> int:
        """The template line (1-based) of a rendered line."""
        start, end = self._chunk
        if end <= start or not self._to_template:
            return start + 1
        index = rendered_line - self.rendered_first_line
        index = min(max(index, 0), len(self._to_template) - 1)
        return self._to_template[index] + 1


@dataclass(frozen=True, slots=True)
class _RenderedLine:
    text: str
    key: str
    indent: int
    key_text: bool
    """Part of the object (not blank, not the ``---`` / ``# Source:`` head, not a comment)."""

    @classmethod
    def of(cls, line: str) -> _RenderedLine:
        text = line.strip()
        content = bool(text) and not text.startswith(("#", "---"))
        return cls(text, _key_of(text), len(line) - len(line.lstrip()), content)


def _match(rendered: list[_RenderedLine], lines: list[_TemplateLine]) -> list[int | None]:
    """Template index (in the chunk) of each rendered line that a template line wrote."""
    # Lines that must not anchor get keys of their own: blank lines, the head, and template
    # lines with actions (matched by pattern below).
    left = [r.text if r.key_text else f"\x00r{i}" for i, r in enumerate(rendered)]
    right = [
        t.text if t.kind is _Kind.LITERAL and t.pattern is None else f"\x00t{j}"
        for j, t in enumerate(lines)
    ]
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    matched: list[int | None] = [None] * len(rendered)
    previous_r = previous_t = 0
    for block in matcher.get_matching_blocks():
        _match_gap(rendered, lines, (previous_r, block.a), (previous_t, block.b), matched)
        for offset in range(block.size):
            matched[block.a + offset] = block.b + offset
        previous_r, previous_t = block.a + block.size, block.b + block.size
    return matched


def _score(line: _RenderedLine, template: _TemplateLine) -> int:
    if template.kind is not _Kind.LITERAL or not line.key_text:
        return 0
    if line.text == template.text or (template.pattern and template.pattern.fullmatch(line.text)):
        score = 4
    elif line.key and line.key == _key_of(template.text):
        score = 2
    else:
        return 0
    return score + (line.indent == template.indent)


def _match_gap(
    rendered: list[_RenderedLine],
    lines: list[_TemplateLine],
    rows: tuple[int, int],
    columns: tuple[int, int],
    matched: list[int | None],
) -> None:
    """Align the rendered lines ``rows`` with the template lines ``columns`` (between two runs
    of identical lines) by the best total score, in order."""
    r0, r1 = rows
    t0, t1 = columns
    height, width = r1 - r0, t1 - t0
    if not height or not width or height * width > _FUZZY_CELLS:
        return
    best = [[0] * (width + 1) for _ in range(height + 1)]
    for i in range(height - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(width - 1, -1, -1):
            score = _score(rendered[r0 + i], lines[t0 + j])
            row[j] = max(below[j], row[j + 1], below[j + 1] + score if score else 0)
    i = j = 0
    while i < height and j < width:
        score = _score(rendered[r0 + i], lines[t0 + j])
        if score and best[i][j] == best[i + 1][j + 1] + score:
            matched[r0 + i] = t0 + j
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1


def _fill(
    matched: list[int | None], rendered: list[_RenderedLine], lines: list[_TemplateLine]
) -> list[int]:
    """``matched`` with every rendered line no template line wrote given the line of the action
    that wrote it: the one writing text between its neighbouring anchors, else its nearest
    aligned parent key, else the anchor before it (one pass each way: a ``toYaml`` may write
    thousands of lines)."""
    after: list[int | None] = [None] * len(matched)
    following: int | None = None
    for index in range(len(matched) - 1, -1, -1):
        after[index] = following
        if matched[index] is not None:
            following = matched[index]
    writers = [j for j, line in enumerate(lines) if line.kind is _Kind.OUTPUT]
    out: list[int] = []
    before: int | None = None
    parents: list[tuple[int, int | None]] = []  # (indent, template line) of open parents
    for index, aligned in enumerate(matched):
        line = rendered[index]
        if line.key_text:
            while parents and parents[-1][0] >= line.indent:
                parents.pop()
        if aligned is not None:
            before = aligned
            out.append(aligned)
        else:
            low = before + 1 if before is not None else 0
            high = after[index]
            at = bisect.bisect_left(writers, low)
            writer = writers[at] if at < len(writers) else None
            if writer is not None and high is not None and writer >= high:
                writer = None
            parent = next((t for _, t in reversed(parents) if t is not None), None)
            fallback = before if before is not None else 0
            out.append(next(t for t in (writer, parent, fallback) if t is not None))
        if line.key_text:
            parents.append((line.indent, aligned))
    return out


def _key_of(line: str) -> str:
    """``- image: {{ .Values.image }}`` → ``image:``."""
    body = line.lstrip("- ").strip()
    key, sep, _ = body.partition(":")
    return f"{key}:" if sep and key and " " not in key.strip("\"'") else ""


def chart_name_prefixes(sources: Sequence[str]) -> set[str]:
    return {s.partition("/")[0] for s in sources}
