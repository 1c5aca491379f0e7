"""Kustomize roots, rendered with ``kustomize build`` (or ``kubectl kustomize``).

Findings should point at the resource file a user edits, not at rendered output. Kustomize can
say where each object came from (``buildMetadata: [originAnnotations]``), but only when set in a
kustomization; kubeward never writes into the user's tree, so it renders a second time through a
temporary wrapper kustomization that includes the user's directory with that option on. The
first, unmodified render is what gets scanned (its errors are the user's errors); the second
only supplies ``config.kubernetes.io/origin`` paths, matched by position.
"""

from __future__ import annotations

import os
import tempfile

from kubeward.errors import RenderError
from kubeward.sources.tools import find_tool, run_tool

KUSTOMIZE_ENV = "KUBEWARD_KUSTOMIZE"
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


def _command() -> list[str]:
    kustomize = find_tool("kustomize", KUSTOMIZE_ENV)
    if kustomize is not None:
        return [kustomize, "build"]
    kubectl = find_tool("kubectl", "KUBEWARD_KUBECTL")
    if kubectl is not None:
        return [kubectl, "kustomize"]
    raise RenderError(
        f"kustomize is not installed (nor kubectl): install it or set {KUSTOMIZE_ENV} "
        "(for development, `make tools` builds it)"
    )


def render(directory: str) -> bytes:
    """``kustomize build DIR``; raises ``RenderError`` on any failure."""
    return run_tool([*_command(), directory], what=f"kustomize build {directory}")


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
                [*_command(), "--load-restrictor", "LoadRestrictionsNone", wrapper],
                what="kustomize (origin annotations)",
            )
        except RenderError:
            return None
        return output, wrapper
