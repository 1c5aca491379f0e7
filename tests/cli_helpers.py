"""Running the real ``kubeward`` command in a subprocess, as users and CI do."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def kubeward(
    *args: str | Path,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("HELM_NAMESPACE", None)
    done = subprocess.run(
        [sys.executable, "-m", "kubeward", *map(str, args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
        check=False,
    )
    return Run(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
