"""Using a second CPU core for large scans: plain files are split in two shards.

The parent forks one worker. Each process loads its shard and runs the object-scope rules on
it (the bulk of the work: parsing, type checks, most rules, file:line lookups). The worker
sends back its findings, problems and outcomes, and its objects as plain data; the parent
rebuilds them, runs the inventory-scope rules over everything and merges the results. The
shards are contiguous runs of the input list, so the merged report is ordered exactly as a
single-process scan would order it.

Forking keeps the worker's start-up free (no re-import, no re-reading of the configuration).
Where ``fork`` is unavailable, or the scan is small, everything runs in one process. A worker
that fails for any reason is not fatal: its shard is then scanned in the parent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from kubeward.engine import EngineSettings, Evaluation, evaluate, merge
from kubeward.model import Finding, Inventory, K8sObject, Problem, RuleOutcome
from kubeward.rules._base import Rule, Scope
from kubeward.sources.inputs import Input, InputKind, read_file
from kubeward.sources.load import Loaded, LoadOptions, Progress, load_inputs
from kubeward.sources.manifests import DocumentOrigin, OriginRef

MIN_SHARDED_BYTES = 4 * 1024 * 1024
"""Below this many bytes of plain files, a second process costs more than it saves."""


class _Object(msgspec.Struct, array_like=True):
    raw: dict[str, Any]
    origin: OriginRef


class _ShardResult(msgspec.Struct):
    findings: list[Finding]
    suppressed: list[Finding]
    errors: list[Problem]
    warnings: list[Problem]
    outcomes: dict[str, RuleOutcome]
    exception_hits: dict[int, int]
    expired_hits: dict[int, int]
    files: int
    documents: int
    skipped_documents: int
    objects: list[_Object]
    failure: str | None = None


@dataclass
class Sharded:
    loaded: Loaded
    evaluation: Evaluation
    objects: list[K8sObject]


def workers_available() -> int:
    """CPU cores this process may use (1 where ``fork`` is not available)."""
    if not hasattr(os, "fork") or sys.platform == "win32":
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def split(inputs: Sequence[Input], jobs: int) -> tuple[list[Input], list[Input]] | None:
    """The parent's and the worker's shards, or None when one process is better."""
    if jobs < 2:
        return None
    files = [i for i in inputs if i.kind is InputKind.FILE]
    if len(files) < 2:
        return None
    sizes = []
    for item in files:
        try:
            sizes.append(os.path.getsize(item.path))
        except OSError:
            sizes.append(0)
    total = sum(sizes)
    if total < MIN_SHARDED_BYTES:
        return None
    # The parent also renders charts, reads stdin, runs the inventory rules and writes the
    # reports, so it takes a little less than half of the files.
    cut, running = 0, 0
    while cut < len(files) and running + sizes[cut] <= total * 0.47:
        running += sizes[cut]
        cut += 1
    cut = max(1, min(cut, len(files) - 1))
    worker = files[cut:]
    taken = {id(i) for i in worker}
    return [i for i in inputs if id(i) not in taken], worker


def _run_shard(
    inputs: Sequence[Input],
    options: LoadOptions,
    rules: Sequence[Rule],
    settings: EngineSettings,
    progress: Progress | None,
) -> tuple[Loaded, Evaluation]:
    loaded = load_inputs(inputs, options, progress)
    evaluation = evaluate(
        Inventory(loaded.objects), rules, settings, scope=Scope.OBJECT, final=False
    )
    return loaded, evaluation


def _worker(
    fd: int,
    inputs: Sequence[Input],
    options: LoadOptions,
    rules: Sequence[Rule],
    settings: EngineSettings,
) -> None:
    """The forked child: scan the shard, write the result to ``fd``, exit without cleanup."""
    code = 0
    try:
        loaded, evaluation = _run_shard(inputs, options, rules, settings, None)
        result = _ShardResult(
            findings=evaluation.findings,
            suppressed=evaluation.suppressed,
            errors=loaded.errors + evaluation.errors,
            warnings=loaded.warnings + evaluation.warnings,
            outcomes=evaluation.outcomes,
            exception_hits=evaluation.exception_hits,
            expired_hits=evaluation.expired_hits,
            files=loaded.files,
            documents=loaded.documents,
            skipped_documents=loaded.skipped_documents,
            objects=[_Object(o.raw, o.origin.ref()) for o in loaded.objects],  # type: ignore[attr-defined]
        )
        payload = msgspec.msgpack.encode(result)
    except BaseException as exc:  # the parent falls back to scanning the shard itself
        payload = msgspec.msgpack.encode(
            _ShardResult([], [], [], [], {}, {}, {}, 0, 0, 0, [], failure=type(exc).__name__)
        )
        code = 1
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os._exit(code)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _rebuild(result: _ShardResult, options: LoadOptions) -> list[K8sObject]:
    texts: dict[str, bytes] = {}

    def reloader(path: str) -> Any:
        def reload() -> bytes:
            if path not in texts:
                texts[path] = read_file(path, max_size=options.max_file_size)
            return texts[path]

        return reload

    reloaders: dict[str, Any] = {}
    objects = []
    for item in result.objects:
        file = item.origin.file or ""
        reload = reloaders.get(file)
        if reload is None:
            reload = reloaders[file] = reloader(file)
        origin = DocumentOrigin.from_ref(item.origin, reload)
        objects.append(K8sObject(item.raw, origin, deploy_namespace=options.deploy_namespace))
    return objects


def scan_sharded(
    shards: tuple[list[Input], list[Input]],
    options: LoadOptions,
    rules: Sequence[Rule],
    settings: EngineSettings,
    progress: Progress | None = None,
) -> Sharded:
    """Load and evaluate ``shards`` in two processes; the inventory rules run here."""
    mine, theirs = shards
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        _worker(write_end, theirs, options, rules, settings)
    os.close(write_end)
    try:
        loaded, evaluation = _run_shard(mine, options, rules, settings, progress)
        raw = _read_all(read_end)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    try:
        result = msgspec.msgpack.decode(raw, type=_ShardResult)
    except msgspec.DecodeError:
        result = None
    if result is None or result.failure is not None:
        other_loaded, other_eval = _run_shard(theirs, options, rules, settings, None)
        other_objects = other_loaded.objects
        loaded.errors.extend(other_loaded.errors)
        loaded.warnings.extend(other_loaded.warnings)
        loaded.files += other_loaded.files
        loaded.documents += other_loaded.documents
        loaded.skipped_documents += other_loaded.skipped_documents
    else:
        other_objects = _rebuild(result, options)
        other_eval = Evaluation(
            findings=result.findings,
            suppressed=result.suppressed,
            outcomes=result.outcomes,
            exception_hits=result.exception_hits,
            expired_hits=result.expired_hits,
        )
        loaded.errors.extend(result.errors)
        loaded.warnings.extend(result.warnings)
        loaded.files += result.files
        loaded.documents += result.documents
        loaded.skipped_documents += result.skipped_documents
    objects = [*loaded.objects, *other_objects]
    inventory_phase = evaluate(
        Inventory(objects), rules, settings, scope=Scope.INVENTORY, final=False
    )
    return Sharded(
        loaded=loaded,
        evaluation=merge([evaluation, other_eval, inventory_phase]),
        objects=objects,
    )
