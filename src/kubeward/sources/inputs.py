"""Finding and reading inputs: files, directories, stdin, Helm charts, Kustomize directories.

Directory walks are recursive and sorted (stable reports). A directory with ``Chart.yaml`` is a
Helm chart and one with ``kustomization.yaml`` a Kustomize root: each is rendered as a whole
and its files are not scanned one by one (templates are not YAML, patches are not objects).
Hidden files and directories (``.git``, ``.github``) and kubeward's own ``kubeward.yaml`` are
skipped in walks; name a path to scan it.
"""

from __future__ import annotations

import enum
import errno
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kubeward.errors import InputError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# kubeward's own configuration sits next to manifests; it is not one of them.
CONFIG_FILES = frozenset({"kubeward.yaml", "kubeward.yml"})
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024
STDIN = "-"


class InputKind(enum.Enum):
    FILE = "file"
    STDIN = "stdin"
    HELM = "helm"
    KUSTOMIZE = "kustomize"


@dataclass(frozen=True, slots=True)
class Input:
    kind: InputKind
    path: str
    """As the user will recognise it: relative to the working directory when inside it."""


def display_path(path: Path) -> str:
    """Paths under the working directory are shown relative to it, others as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _classify_dir(path: Path) -> InputKind | None:
    if (path / "Chart.yaml").is_file():
        return InputKind.HELM
    if any((path / name).is_file() for name in KUSTOMIZATION_FILES):
        return InputKind.KUSTOMIZE
    return None


_REPORT_HEAD = re.compile(rb'\{"schemaVersion":"\d+\.\d+","tool":\{"name":"kubeward"')
"""How kubeward's own JSON report starts (msgspec writes the fields in this order)."""


def is_kubeward_report(path: Path) -> bool:
    """A JSON report of an earlier scan (``-o report.json`` inside the scanned directory): not
    an input, and the next scan may overwrite it."""
    if path.suffix.lower() != ".json":
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(96)
    except OSError:
        return False
    return _REPORT_HEAD.match(head) is not None


def discover(paths: Iterable[str]) -> tuple[list[Input], list[InputError]]:
    """Expand command-line paths into inputs, each file once (by its resolved path, where first
    named or found); missing paths are returned as errors."""
    found: list[Input] = []
    errors: list[InputError] = []
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()  # a file named twice, or named and in a named directory
    # Resolved once: repositories with one object per file have tens of thousands of files,
    # and resolving each (a stat per path component) and the working directory again for each
    # cost more than parsing them (0.26 s for 4,000 files).
    here = os.path.realpath(os.getcwd())
    inside = here if here.endswith(os.sep) else here + os.sep

    def shown(real: str, given: str) -> str:
        """As ``display_path``: relative to the working directory when inside it."""
        if real == here:
            return "."
        return real[len(inside) :] if real.startswith(inside) else given

    def add_file(given: str, real: str) -> None:
        if real not in seen_files:
            seen_files.add(real)
            found.append(Input(InputKind.FILE, shown(real, given)))

    def walk(directory: str, real: str) -> None:
        if real in seen_dirs:  # a symlink loop, or the same directory named twice
            return
        seen_dirs.add(real)
        try:
            # (a directory that can be listed but not searched fails here, on its first stat)
            kind = _classify_dir(Path(directory))
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            errors.append(InputError(f"cannot list directory: {exc.strerror}", file=directory))
            return
        if kind is not None:
            found.append(Input(kind, shown(real, directory)))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                visit(entry, real)
            except OSError as exc:  # e.g. permission denied on its stat
                errors.append(InputError(f"cannot read: {exc.strerror}", file=entry.path))

    def visit(entry: os.DirEntry[str], parent_real: str) -> None:
        # The entry's resolved path is its directory's plus its name unless it is a link.
        real = (
            os.path.realpath(entry.path)
            if entry.is_symlink()
            else os.path.join(parent_real, entry.name)
        )
        if _is(entry.is_dir):
            walk(entry.path, real)
        elif os.path.splitext(entry.name)[1].lower() not in MANIFEST_SUFFIXES or (
            entry.name in CONFIG_FILES
        ):
            return
        elif _is(entry.is_file):
            if not is_kubeward_report(Path(entry.path)):
                add_file(entry.path, real)
        else:
            # A manifest's name on something that cannot be read as one: a broken symlink, a
            # named pipe (reading it would wait forever), a socket. Said, never passed over.
            errors.append(InputError(_unreadable(Path(entry.path)), file=entry.path))

    for raw in paths:
        if raw == STDIN:
            if not any(item.kind is InputKind.STDIN for item in found):  # read once
                found.append(Input(InputKind.STDIN, "<stdin>"))
            continue
        path = Path(raw)
        try:
            if path.is_dir():
                walk(str(path), os.path.realpath(path))
            elif path.is_file():
                add_file(str(path), os.path.realpath(path))
            else:
                errors.append(InputError(_unreadable(path), file=raw))
        except OSError as exc:
            errors.append(InputError(f"cannot read: {exc.strerror}", file=raw))
    return found, errors


_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _is(test: Callable[[], bool]) -> bool:
    """A ``DirEntry`` type test that says False where ``Path.is_dir``/``is_file`` do (a
    broken link, a link loop) and raises other errors (permission denied)."""
    try:
        return test()
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return False
        raise


def _unreadable(path: Path) -> str:
    """Why ``path``, neither a directory nor a regular file, is not read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if path.is_symlink():
            return f"is a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return "no such file or directory"
    if stat.S_ISFIFO(mode):
        what = "a named pipe"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    else:
        what = "a special file"
    return f"is {what}, not a regular file or directory: not read"


_CHART_PARTS = frozenset({"templates", "charts", "crds"})
"""What Helm itself reads from a chart directory (besides the files below)."""
_CHART_FILES = re.compile(r"(values.*\.ya?ml|Chart\.yaml|Chart\.lock)")
_TOP_LEVEL_KEY = {key: re.compile(rb"^%s:" % key, re.MULTILINE) for key in (b"apiVersion", b"kind")}
_SNIFF_BYTES = 64 * 1024


def unrendered_manifests(chart: Path) -> list[Path]:
    """Manifest-looking YAML files (``apiVersion`` and ``kind`` at the top level) in a chart
    directory that Helm does not render: raw ``k8s/`` or ``examples/`` manifests kept next to
    the templates, which a scan of the chart would otherwise pass over in silence."""
    found: list[Path] = []
    pending = [entry for entry in chart.iterdir() if entry.name not in _CHART_PARTS]
    while pending:
        entry = pending.pop()
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            pending.extend(entry.iterdir())
        elif (
            entry.suffix.lower() in {".yaml", ".yml"}
            and not _CHART_FILES.fullmatch(entry.name)
            and entry.is_file()
            and _looks_like_manifest(entry)
        ):
            found.append(entry)
    return sorted(found)


def _looks_like_manifest(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return all(pattern.search(head) for pattern in _TOP_LEVEL_KEY.values())


_UTF8_BOM = b"\xef\xbb\xbf"
_BOM_AFTER_SEPARATOR = re.compile(rb"^(---(?:[ \t][^\n]*)?\r?\n)\xef\xbb\xbf", re.MULTILINE)
"""A document of files joined with ``cat`` may start with its own file's byte order mark."""
_LONE_CR = re.compile(rb"\r(?!\n)")


def _check_text(data: bytes, name: str) -> bytes:
    """Reject binary and non-UTF-8 input with a message that says what and where.

    Also drop byte order marks and turn old-Mac line breaks (a lone CR) into LF. Neither
    changes what the text means: kubectl splits a stream into documents before parsing each,
    so a BOM at the start of any document is skipped; YAML reads every line break as LF, and
    JSON has them only as whitespace. But kubeward counts lines by LF, so a lone CR would
    shift every line number after it.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "is UTF-16 encoded; kubeward reads UTF-8 (convert it with iconv)", file=name
        )
    if data.startswith(_UTF8_BOM):
        data = data[3:]
    nul = data.find(b"\x00", 0, 8192)
    if nul != -1:
        raise InputError("is a binary file (contains NUL bytes), not a manifest", file=name)
    if b"\r" in data:
        data = _LONE_CR.sub(b"\n", data)
    if _UTF8_BOM in data:
        data = _BOM_AFTER_SEPARATOR.sub(rb"\1", data)
    nul = data.find(b"\x00")
    if nul != -1:  # text with a NUL further on: say where, YAML would only give an offset
        raise InputError(
            "contains a NUL byte, which YAML and JSON text cannot hold",
            file=name,
            line=data.count(b"\n", 0, nul) + 1,
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"is not valid UTF-8 (byte offset {exc.start}); kubeward reads UTF-8 manifests",
            file=name,
            line=line,
        ) from None
    return data


def _limit_message(size: int | None, limit: int) -> str:
    """``size`` None: more than the limit was read, how much more is unknown (a stream)."""
    over = f"over the {_mebibytes(limit)} limit per file (raise it with --max-file-size)"
    return f"is {_mebibytes(size)}, {over}" if size is not None else f"is {over}"


def _mebibytes(size: int) -> str:
    return f"{size / 2**20:.1f} MiB".replace(".0 MiB", " MiB")


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # (no effect on regular files)


_SMALL_FILE = 64 * 1024


def read_file(path: str, *, max_size: int = DEFAULT_MAX_FILE_SIZE) -> bytes:
    """Read a manifest file as validated UTF-8 bytes; raises ``InputError``."""
    try:
        # Opened without waiting: a file replaced by a named pipe since it was found would
        # otherwise block here until something writes to it.
        with open(os.open(path, os.O_RDONLY | _NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError("is not a regular file: not read", file=path)
            if info.st_size > max_size:
                raise InputError(_limit_message(info.st_size, max_size), file=path)
            if info.st_size < _SMALL_FILE:
                # Read the size fstat gives (plus a byte to see growth): read(max_size + 1)
                # is a 64 MiB allocation, 30 µs a file (0.12 s for 4,000 small files). Not for
                # large files: sized to them, the buffers stay in the heap, and the 20k-object
                # corpus (150 kB files) peaked 20 MB higher.
                data = handle.read(info.st_size + 1)
                if len(data) > info.st_size:  # it grew meanwhile: up to the limit
                    data += handle.read(max_size + 1 - len(data))
            else:
                data = handle.read(max_size + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    if len(data) > max_size:
        raise InputError(_limit_message(None, max_size), file=path)  # it grew meanwhile
    return _check_text(data, path)


def read_stream(stream: BinaryIO | None = None, *, max_size: int = DEFAULT_MAX_FILE_SIZE) -> bytes:
    """Read standard input (bounded); raises ``InputError``."""
    source = stream if stream is not None else sys.stdin.buffer
    data = source.read(max_size + 1)
    if len(data) > max_size:  # read no further: the size of the rest is not known
        raise InputError(_limit_message(None, max_size), file="<stdin>")
    return _check_text(data, "<stdin>")
