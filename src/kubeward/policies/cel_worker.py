"""CEL expressions that call Kubernetes library functions, evaluated in a recycled process.

Why: cel-expr-python 0.1.3 never releases what it builds to call a Python function from CEL
(``PyCelFunctionAdapter::Invoke`` creates the argument tuple with ``PyTuple_New`` and keeps the
result of ``PyObject_CallObject`` without a ``Py_DECREF`` of either). So every call leaks the
tuple, each argument converted into it and the returned object: 48 bytes for a call with one
bool, 112 with a short string, ~1.1 KiB with a 1,000-character string, ~190 with a 10-element
list, more for a returned list or map (``bench/cel_leak_bench.py``). kubeward's Kubernetes
functions are Python functions, so a long-running process that calls them grows without bound.

kubeward gives those references back (``k8s_cel.reclaim``) where its self-test passes, and then
this module is not used. Where it does not (another interpreter, another engine behaviour) or
with ``KUBEWARD_CEL_WORKER=1``: ``kubeward admission serve`` and ``audit --watch`` call
``isolate()``; from then on an expression that calls a Kubernetes function (known at compile
time, ``Expression.leaking_functions``) is evaluated in a worker process
(``python -m kubeward.policies.cel_worker``), one exchange per policy and object. The worker is
replaced after ``MAX_EVALUATIONS`` exchanges or ``MAX_GROWTH_MB`` of resident memory grown,
whichever comes first, so the leak stays below that bound. Its successor is started and has
compiled every known expression in the background *before* the hand-over (at ``PRESTART`` of
either budget), so no evaluation waits for a process to start; the old worker is told to exit
once the new one has taken over. Expressions without such calls (most policies) stay in
kubeward's process: they leak nothing.

Protocol (standard input and output; a 4-byte big-endian length, then the payload):

- ``C`` + JSON list of sources: compile them (they compiled in kubeward already); answer
  ``{"rss": bytes}``;
- ``E`` + JSON ``[sources, data]``: evaluate each source with ``data``; answer
  ``{"r": [true | false | "error message", ...], "rss": bytes}``.
"""

from __future__ import annotations

import atexit
import gc
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from kubeward.policies.frames import read_frame

MAX_EVALUATIONS = int(os.environ.get("KUBEWARD_CEL_WORKER_MAX_EVALUATIONS") or 200_000)
"""Exchanges (one policy on one object) before the worker is replaced."""
MAX_GROWTH_MB = float(os.environ.get("KUBEWARD_CEL_WORKER_MAX_GROWTH_MB") or 32)
"""Resident memory the worker may gain after start before it is replaced."""
PRESTART = 0.75
"""Fraction of either budget at which the successor is started."""
EVALUATION_TIMEOUT = 2.0
"""Seconds one exchange may take before the worker is killed and the evaluation is an error."""
START_TIMEOUT = 60.0
"""Seconds to start a worker and compile every known expression."""


class WorkerError(RuntimeError):
    """The worker failed (died, timed out): the evaluations of that exchange are errors."""


# -- the worker process ----------------------------------------------------------------------


def _rss_reader() -> Any:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:  # not Linux: the peak resident size, which the leak only raises
        import resource

        return lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    page = os.sysconf("SC_PAGE_SIZE")
    return lambda: int(os.pread(fd, 128, 0).split()[1]) * page


def serve(incoming: BinaryIO, outgoing: BinaryIO) -> None:
    from kubeward.policies.cel import CelEvaluationError, Expression, Variables

    rss = _rss_reader()
    compiled: dict[str, Expression] = {}
    # What leaks here are containers the collector would walk on every full collection, for
    # pauses of ~50-120 ms near the end of a 32 MiB budget (measured). This process is replaced
    # before long: garbage in a cycle, if any, just counts towards its budget.
    gc.disable()

    def expression(source: str) -> Expression:
        found = compiled.get(source)
        if found is None:
            found = compiled[source] = Expression(source)
        return found

    while True:
        frame = read_frame(incoming)
        if frame is None:
            return  # kubeward closed the pipe: it exited or replaced this worker
        op, body = frame[:1], frame[1:]
        if op == b"E":
            sources, data = orjson.loads(body)
            results: list[bool | str] = []
            try:
                variables: Variables | dict[str, Any] = Variables(data)
            except CelEvaluationError:
                variables = data  # each evaluation reports what could not be converted
            for source in sources:
                try:
                    results.append(expression(source).holds(variables))
                except CelEvaluationError as exc:
                    results.append(str(exc) or "evaluation failed")
                except Exception as exc:  # a source that no longer compiles: engine fault
                    results.append(f"{source!r}: {exc}")
            answer = orjson.dumps({"r": results, "rss": rss()})
        elif op == b"C":
            for source in orjson.loads(body):
                try:
                    expression(source)
                except Exception:  # noqa: S112 - reported when it is evaluated
                    continue
            answer = orjson.dumps({"rss": rss()})
        else:
            answer = orjson.dumps({"error": f"unknown request {op!r}"})
        outgoing.write(struct.pack(">I", len(answer)) + answer)
        outgoing.flush()


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nothing printed can corrupt a frame
    serve(sys.stdin.buffer, channel)


# -- kubeward's side -------------------------------------------------------------------------


class _Process:
    """One worker process and its pipes."""

    def __init__(self, sources: Sequence[str]) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                        os.environ.get("PYTHONPATH")])),
        }  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kubeward.policies.cel_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.evaluations = 0
        answer = self.exchange(b"C" + orjson.dumps(list(sources)), START_TIMEOUT)
        self.base_rss: int = answer["rss"]
        self.rss: int = self.base_rss

    def exchange(self, frame: bytes, timeout: float) -> dict[str, Any]:
        self.write(frame)
        return self.read(timeout)

    def write(self, frame: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None  # noqa: S101 - created with pipes
        pending = memoryview(struct.pack(">I", len(frame)) + frame)
        while pending:  # the worker only waits for requests here: it reads all of it
            pending = pending[os.write(stdin.fileno(), pending) :]

    def read(self, timeout: float) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None  # noqa: S101 - created with pipes
        answer: dict[str, Any] = orjson.loads(_read_frame(stdout.fileno(), timeout))
        return answer

    def used(self) -> float:
        """The larger share of either budget spent."""
        grown = (self.rss - self.base_rss) / (MAX_GROWTH_MB * (1 << 20))
        return max(self.evaluations / MAX_EVALUATIONS, grown)

    def retire(self) -> None:
        """Let it exit (end of input) and reap it without waiting here."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        threading.Thread(target=self.process.wait, daemon=True).start()

    def kill(self) -> None:
        self.process.kill()
        self.retire()


def _read_frame(fd: int, timeout: float) -> bytes:
    """One length-prefixed answer, in as few reads as the pipe allows."""
    deadline = time.monotonic() + timeout
    data = b""
    size: int | None = None
    while size is None or len(data) < size + 4:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 1 << 16 if size is None else size + 4 - len(data))
        if not chunk:
            raise EOFError("the CEL worker exited")
        data += chunk
        if size is None and len(data) >= 4:
            (size,) = struct.unpack(">I", data[:4])
    return data[4:]


class Sent:
    """An evaluation handed to a worker, whose answer is still to be read."""

    __slots__ = ("worker",)

    def __init__(self, worker: _Process) -> None:
        self.worker = worker


class Pool:
    """The active worker and, near the end of its budget, its successor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: _Process | None = None
        self._successor: _Process | None = None
        self._starting: threading.Thread | None = None
        self._sources: dict[str, None] = {}
        """Every expression sent so far (ordered), compiled by each new worker up front."""
        self._owner = 0
        self.replaced = 0
        """How many workers were replaced because they spent their budget."""
        self.started_inline = 0
        """How many workers an evaluation (or ``warm``) had to wait for: the first one, and one
        after a worker died with no successor ready."""

    def warm(self, sources: Sequence[str]) -> None:
        """Start the worker now and compile ``sources`` in it (a server's first review should
        not wait for it)."""
        with self._lock:
            self._sources.update(dict.fromkeys(sources))
            self._running()

    def evaluate(self, sources: Sequence[str], data: Mapping[str, Any]) -> list[bool | str]:
        """Each expression's verdict on ``data``, or its error message."""
        return self.receive(self.send(sources, data))

    def send(self, sources: Sequence[str], data: Mapping[str, Any]) -> Sent:
        """Hand the evaluation to the worker and return at once (the caller works on while the
        worker evaluates); ``receive`` gives the answer. Until then the pool is held: a thread
        must ``receive`` what it sent before it sends again."""
        encoded = orjson.dumps([sources, data], default=str)
        self._lock.acquire()
        try:
            for source in sources:
                if source not in self._sources:
                    self._sources[source] = None
            worker = self._running()
            try:
                worker.write(b"E" + encoded)
            except OSError as exc:
                self._lose(worker)
                raise WorkerError(f"the CEL worker stopped unexpectedly ({exc})") from None
        except BaseException:
            self._lock.release()
            raise
        return Sent(worker)

    def receive(self, sent: Sent) -> list[bool | str]:
        """The answer to ``sent`` (and the pool is free again)."""
        worker = sent.worker
        try:
            try:
                answer = worker.read(EVALUATION_TIMEOUT)
            except TimeoutError:
                self._lose(worker)
                raise WorkerError(
                    f"evaluation exceeded {EVALUATION_TIMEOUT:g} s and was stopped"
                ) from None
            except (EOFError, OSError, ValueError) as exc:
                self._lose(worker)
                raise WorkerError(f"the CEL worker stopped unexpectedly ({exc})") from None
            worker.evaluations += 1
            worker.rss = int(answer.get("rss", worker.rss))
            self._budget(worker)
        finally:
            self._lock.release()
        results: list[bool | str] = answer["r"]
        return results

    def close(self) -> None:
        starting = self._starting
        if starting is not None:  # a successor about to be installed: stop it as well
            starting.join(START_TIMEOUT)
        with self._lock:
            for worker in (self._active, self._successor):
                if worker is not None and self._owner == os.getpid():
                    worker.kill()
            self._active = self._successor = None

    # -- under the lock -----------------------------------------------------------------------

    def _running(self) -> _Process:
        if self._owner != os.getpid():  # a forked child never uses its parent's workers
            self._active = self._successor = self._starting = None
            self._owner = os.getpid()
        if self._active is None or self._active.process.poll() is not None:
            if self._active is not None:  # it died between two evaluations
                self._active.retire()
            if self._successor is not None:
                self._active, self._successor = self._successor, None
            else:  # first use, or the worker died with no successor ready: start one now
                self.started_inline += 1
                self._active = _Process(list(self._sources))
        return self._active

    def _budget(self, worker: _Process) -> None:
        used = worker.used()
        if used >= 1 and self._successor is not None:
            self._active, self._successor = self._successor, None
            worker.retire()
            self.replaced += 1  # an expression first seen while it started compiles on use
        elif used >= PRESTART and self._successor is None and self._starting is None:
            self._start_successor()

    def _start_successor(self) -> None:
        sources = list(self._sources)

        def start() -> None:
            try:
                successor = _Process(sources)
            except (OSError, ValueError, TimeoutError, EOFError):
                successor = None
            with self._lock:
                self._starting = None
                if successor is None:
                    return
                if self._successor is not None:  # a later start won: keep the one we have
                    successor.retire()
                    return
                self._successor = successor

        self._starting = threading.Thread(target=start, name="cel-worker-start", daemon=True)
        self._starting.start()

    def _lose(self, worker: _Process) -> None:
        worker.kill()
        if self._active is worker:
            self._active = None


POOL = Pool()
atexit.register(POOL.close)
_ISOLATION = {"on": False}


def isolate(sources: Sequence[str] = ()) -> None:
    """From now on, expressions that call Kubernetes functions run in the worker; start it
    with ``sources`` compiled."""
    _ISOLATION["on"] = True
    if sources:
        POOL.warm(sources)


def isolated() -> bool:
    return _ISOLATION["on"]


if __name__ == "__main__":
    main()
