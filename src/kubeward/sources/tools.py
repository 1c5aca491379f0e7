"""Running the external renderers (helm, kustomize) safely: no shell, a timeout, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from kubeward.errors import RenderError

RENDER_TIMEOUT_SECONDS = 300


def find_tool(name: str, env_var: str) -> str | None:
    """The binary named by ``env_var``, else the first ``name`` on ``PATH``."""
    configured = os.environ.get(env_var)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which(name)


def run_tool(argv: Sequence[str], *, what: str, cwd: str | None = None) -> bytes:
    """Run a renderer; return stdout, or raise ``RenderError`` with the tool's own message."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError:
        raise RenderError(f"{what}: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"{what}: {argv[0]} did not finish within {RENDER_TIMEOUT_SECONDS} s"
        ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
        lines = detail.splitlines()
        if len(lines) > 20:
            detail = "\n".join([*lines[:20], f"... ({len(lines) - 20} more lines)"])
        raise RenderError(f"{what} failed: {detail}")
    return done.stdout
