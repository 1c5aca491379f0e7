"""Helm charts, rendered with ``helm template`` and mapped back to their template files.

Each rendered document carries a ``# Source: <chart>/templates/<file>`` comment; findings are
reported against that template file. The line is mapped from the rendered output onto the
template (the same text, else the same key, nearest to the rendered position); the rendered
line is kept in ``renderedFrom.renderedLine``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
        where = template_file(chart, found.group(1))
        raise RenderError(exc.detail, file=where, line=int(found.group(2))) from None


def template_source(document: bytes | memoryview) -> str | None:
    """The ``# Source:`` path of a rendered document (``chart/templates/x.yaml``)."""
    head = bytes(document[:4096])
    match = _SOURCE.search(head)
    return match.group(1).decode("utf-8", "replace") if match else None


def template_file(chart: str, source: str) -> str:
    """``web/templates/x.yaml`` of chart dir ``charts/web`` → ``charts/web/templates/x.yaml``."""
    _, _, inside = source.partition("/")
    return os.path.normpath(os.path.join(chart, inside or source))


def template_of(
    chart: str, document: bytes | memoryview, first_line: int
) -> tuple[str, TemplateLines | None] | None:
    """The template file a rendered document comes from (its ``# Source:`` line) and the map
    of its lines onto it (None when the template cannot be read); None without a source."""
    source = template_source(document)
    if source is None:
        return None
    template = template_file(chart, source)
    return template, TemplateLines.load(document, first_line, template)


@dataclass
class TemplateLines:
    """Maps lines of one rendered document onto its template file.

    A template may hold several documents, and Helm reorders rendered documents by kind, so the
    template document is chosen first (the one sharing most lines with the rendered one); then
    each rendered line maps to the same text in it (else the same key), nearest to the same
    position, else to the same position.
    """

    rendered: list[str]
    rendered_first_line: int
    template: list[str]
    _stripped: list[str] = field(init=False)
    _keys: list[str] = field(init=False)
    _chunk: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self._stripped = [line.strip() for line in self.template]
        self._keys = [_key_of(line) for line in self._stripped]
        self._chunk = self._best_chunk()

    def _best_chunk(self) -> tuple[int, int]:
        bounds = [i for i, line in enumerate(self.template) if line.startswith("---")]
        starts = [0, *[b + 1 for b in bounds]]
        ends = [*bounds, len(self.template)]
        wanted = {line.strip() for line in self.rendered if line.strip()}
        best, best_score = (0, len(self.template)), -1
        for start, end in zip(starts, ends, strict=True):
            score = sum(1 for line in self._stripped[start:end] if line in wanted)
            if score > best_score:
                best, best_score = (start, end), score
        return best

    @classmethod
    def load(cls, rendered: bytes | memoryview, first_line: int, path: str) -> TemplateLines | None:
        try:
            template = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return None
        return cls(bytes(rendered).decode("utf-8", "replace").splitlines(), first_line, template)

    def map(self, rendered_line: int) -> int:
        start, end = self._chunk
        if end <= start:
            return 1
        # The rendered document starts with "---" and "# Source:"; the template chunk does not.
        index = rendered_line - self.rendered_first_line - 2
        if not 0 <= index + 2 < len(self.rendered):
            return start + min(max(index, 0), end - start - 1) + 1
        text = self.rendered[index + 2].strip()
        for candidates, wanted in ((self._stripped, text), (self._keys, _key_of(text))):
            if not wanted:
                continue
            hits = [i for i in range(start, end) if candidates[i] == wanted]
            if hits:
                return min(hits, key=lambda i: abs(i - start - index)) + 1
        return start + min(max(index, 0), end - start - 1) + 1


def _key_of(line: str) -> str:
    """``- image: {{ .Values.image }}`` → ``image:``."""
    body = line.lstrip("- ").strip()
    key, sep, _ = body.partition(":")
    return f"{key}:" if sep and key and " " not in key.strip("\"'") else ""


def chart_name_prefixes(sources: Sequence[str]) -> set[str]:
    return {s.partition("/")[0] for s in sources}
