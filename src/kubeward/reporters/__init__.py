"""Reporters: pure functions ``render(result) -> str | bytes | bytearray``; no I/O.

| format | module  | for                                              |
|--------|---------|--------------------------------------------------|
| table  | table   | people at a terminal (grouped by file, summary)  |
| json   | json    | tools; versioned schema (docs/schema/report-v1.json) |
| sarif  | sarif   | code scanning (GitHub, GitLab, Azure DevOps)     |
| junit  | junit   | CI test report views                             |
| html   | html    | a single self-contained file to share            |
"""

from __future__ import annotations

from collections.abc import Callable

from kubeward.model import ScanResult

Renderer = Callable[[ScanResult], str | bytes | bytearray]

FORMATS = ("table", "json", "sarif", "junit", "html")


def renderer(name: str) -> Renderer:
    """The ``render`` function of a format (imported lazily: rich and jinja2 are not free)."""
    if name == "table":
        from kubeward.reporters import table

        return table.render
    if name == "json":
        from kubeward.reporters import json

        return json.render
    if name == "sarif":
        from kubeward.reporters import sarif

        return sarif.render
    if name == "junit":
        from kubeward.reporters import junit

        return junit.render
    if name == "html":
        from kubeward.reporters import html

        return html.render
    raise ValueError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
