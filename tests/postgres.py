"""A real PostgreSQL server for tests, in a temporary directory on 127.0.0.1.

Uses the PostgreSQL binaries of the machine (Debian's `postgresql` package:
`tools/ensure-postgres.sh` installs it in CI). PostgreSQL refuses to run as root, so as root
the server runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.testcluster import free_port


def binaries() -> Path | None:
    """The directory with initdb and postgres, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    pwd.getpwnam("postgres")  # raises KeyError without the package's user
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def running(directory: Path) -> Iterator[str]:
    """Start a server; yield an SQLAlchemy URL (psycopg) for its `postgres` database."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (tools/ensure-postgres.sh)")
    prefix = _as_server_user()
    data = directory / "data"
    sockets = directory / "sockets"
    for path in (directory, sockets):
        path.mkdir(parents=True, exist_ok=True)
    if prefix:
        for path in (directory, sockets):
            shutil.chown(path, "postgres", "postgres")
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "kubeward", "-A", "trust",
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    log = (directory / "postgres.log").open("ab")
    server = subprocess.Popen(
        [*prefix, str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1",
         "-p", str(port), "-k", str(sockets), "-c", "fsync=off"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        _wait(bin_dir, port, server, directory)
        yield f"postgresql+psycopg://kubeward@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait(bin_dir: Path, port: int, server: subprocess.Popen[bytes], directory: Path) -> None:
    ready = bin_dir / "pg_isready"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (directory / "postgres.log").read_text(errors="replace")
            raise RuntimeError(f"postgres exited with {server.returncode}: {log[-1000:]}")
        probe = subprocess.run(
            [str(ready), "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("postgres did not become ready in 30 s")
