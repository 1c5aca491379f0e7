"""Kustomize roots, rendered with ``kustomize build`` (or ``kubectl kustomize``).

Findings should point at the resource file a user edits, not at rendered output. Kustomize can
say where each object came from (``buildMetadata: [originAnnotations]``), but only when set in a
kustomization; kubeward never writes into the user's tree, so it renders a second time through a
temporary wrapper kustomization that includes the user's directory with that option on. The
first, unmodified render is what gets scanned (its errors are the user's errors); the second
only supplies ``config.kubernetes.io/origin`` paths, matched by position.

An origin names a file, not which of its objects: the kustomization files themselves are read
(``name_affixes``) for the ``namePrefix``/``nameSuffix`` that turned a resource's name into
the rendered one, and to say which of them is broken when the render fails.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubeward.errors import RenderError, SourceError
from kubeward.sources.helm import HELM_ENV
from kubeward.sources.inputs import KUSTOMIZATION_FILES, read_file
from kubeward.sources.manifests import parse_yaml
from kubeward.sources.tools import find_tool, run_tool

KUSTOMIZE_ENV = "KUBEWARD_KUSTOMIZE"
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


def _command(directory: str) -> list[str]:
    kustomize = find_tool("kustomize", KUSTOMIZE_ENV)
    if kustomize is not None:
        command = [kustomize, "build"]
    else:
        kubectl = find_tool("kubectl", "KUBEWARD_KUBECTL")
        if kubectl is None:
            raise RenderError(
                f"kustomize is not installed (nor kubectl): install it or set {KUSTOMIZE_ENV} "
                "(for development, `make tools` builds it)"
            )
        command = [kubectl, "kustomize"]
    return command + _helm_flags(directory)


def _helm_flags(directory: str) -> list[str]:
    """``--enable-helm`` (with kubeward's helm) when a kustomization under ``directory``
    inflates Helm charts (``helmCharts:``, as Argo CD builds them): kustomize refuses to
    without it. Only then: it also lets kustomize pull a chart from its ``repo``."""
    if not any(visit.value.get("helmCharts") for visit in _walk(directory)):
        return []
    helm = find_tool("helm", HELM_ENV)
    if helm is None:
        raise RenderError(
            f"{directory} inflates Helm charts (helmCharts:), but helm is not installed: "
            f"install Helm 3 or set {HELM_ENV}"
        )
    return ["--enable-helm", "--helm-command", helm]


def render(directory: str) -> bytes:
    """``kustomize build DIR``; raises ``RenderError`` on any failure."""
    return run_tool([*_command(directory), directory], what=f"kustomize build {directory}")


def render_with_origins(directory: str) -> tuple[bytes, str] | None:
    """Render through a wrapper that adds origin annotations; None if that fails.

    Returns the output and the wrapper directory (origin paths are relative to it).
    """
    with tempfile.TemporaryDirectory(prefix="kubeward-kustomize-") as wrapper:
        relative = os.path.relpath(os.path.abspath(directory), wrapper)
        with open(os.path.join(wrapper, "kustomization.yaml"), "w", encoding="utf-8") as handle:
            handle.write(
                "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                "kind: Kustomization\n"
                f"resources:\n- {relative}\n"
                "buildMetadata: [originAnnotations]\n"
            )
        try:
            output = run_tool(
                [*_command(directory), "--load-restrictor", "LoadRestrictionsNone", wrapper],
                what="kustomize (origin annotations)",
            )
        except RenderError:
            return None
        return output, wrapper


_MAX_KUSTOMIZATIONS = 1000
"""Kustomization files read per root (a bound, not a limit real trees reach)."""


@dataclass(frozen=True, slots=True)
class _Visit:
    file: str
    """The kustomization file, absolute and with symbolic links resolved."""
    value: dict[str, Any]
    """Its content; empty when it does not parse."""
    problem: tuple[str, int | None] | None
    """Why it does not parse, and the line."""
    prefix: str
    suffix: str
    """Every ``namePrefix``/``nameSuffix`` that applies to its own resources, outer ones too."""


def _kustomization_in(directory: str) -> str | None:
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def _read(path: str) -> tuple[dict[str, Any], tuple[str, int | None] | None]:
    try:
        parsed = parse_yaml(read_file(path), path)
    except SourceError as exc:
        return {}, (exc.detail, exc.line)
    if parsed.problems:
        return {}, (parsed.problems[0].message, parsed.problems[0].line)
    value = parsed.documents[0].value if parsed.documents else None
    return (value if isinstance(value, dict) else {}), None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _walk(root: str) -> Iterator[_Visit]:
    """The kustomization files under ``root`` (itself, then the local directories its
    ``resources``, ``bases`` and ``components`` name), each once per affix combination.

    An approximation of kustomize's own walk (a component's prefix applies to its parent's
    resources too, remote bases are not followed): callers only use it to choose between
    candidates, never to decide whether something exists.
    """
    pending = [(os.path.realpath(root), "", "")]
    seen: set[tuple[str, str, str]] = set()
    while pending and len(seen) < _MAX_KUSTOMIZATIONS:
        directory, outer_prefix, outer_suffix = pending.pop(0)
        file = _kustomization_in(directory)
        if file is None or (file, outer_prefix, outer_suffix) in seen:
            continue
        seen.add((file, outer_prefix, outer_suffix))
        value, problem = _read(file)
        # kustomize applies the inner kustomization's affixes first, the outer ones around them
        prefix = outer_prefix + _text(value.get("namePrefix"))
        suffix = _text(value.get("nameSuffix")) + outer_suffix
        yield _Visit(file, value, problem, prefix, suffix)
        for key in ("resources", "bases", "components"):
            entries = value.get(key)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and "://" not in entry:
                    path = os.path.realpath(os.path.join(directory, entry))
                    if os.path.isdir(path):
                        pending.append((path, prefix, suffix))


def name_affixes(root: str) -> dict[str, set[tuple[str, str]]]:
    """Resource file (absolute, links resolved) -> the (prefix, suffix) pairs kustomize adds to
    the names of its objects when ``root`` is built (several when it is reached twice)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for visit in _walk(root):
        entries = visit.value.get("resources")
        directory = os.path.dirname(visit.file)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str) and "://" not in entry:
                path = os.path.realpath(os.path.join(directory, entry))
                if os.path.isfile(path):
                    found.setdefault(path, set()).add((visit.prefix, visit.suffix))
    return found


def broken_kustomization(root: str) -> tuple[str, int | None, str] | None:
    """The first kustomization file under ``root`` that does not parse: its path, the line
    (when the parser gives one) and why; None when they all parse."""
    for visit in _walk(root):
        if visit.problem is not None:
            return visit.file, visit.problem[1], visit.problem[0]
    return None
