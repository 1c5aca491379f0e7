"""Rego for users' policies: modules compiled and evaluated by regorus in a sandbox process.

Engine: regorus (the ``gordon-to-regorus`` wheel; why in pyproject.toml). It is OPA-compatible
for what admission policies use, v0 and v1 syntax, and evaluates like ``opa eval
--strict-builtin-errors``: a builtin that fails on its arguments is an error, not undefined.

Every evaluation runs in one sandbox process per kubeward process (``rego_worker``), because
the binding holds the GIL for a whole evaluation and offers no instruction or time limit: only
a process kubeward can kill bounds a policy that never ends. An evaluation that takes longer
than ``EVALUATION_TIMEOUT`` seconds kills the sandbox and is an error; the next evaluation
starts a new one (which loads every policy again). The sandbox's memory is capped as well
(``rego_worker.MEMORY_LIMIT_MB``): running out kills it the same way. The webhook sends the
evaluations of a review ahead (``evaluate_ahead``): the sandbox works while kubeward runs its
own rules, with the same time limit per evaluation.

The input document (the same at every enforcement point):

- ``input.request``: the AdmissionReview's request. At admission it is the request the API
  server sent; in a scan or audit it is made up for the object as if it were created:
  ``operation: CREATE``, ``kind``, ``namespace``, ``name``, ``object``, ``oldObject: null``,
  ``userInfo: {}``, no ``uid``.
- ``input.review``: the same request, under the name Gatekeeper's templates use.
- ``input.parameters``: a Gatekeeper Constraint's parameters (``{}`` otherwise).

A Secret's values (``data``, ``stringData``, a last-applied copy) are replaced by a marker in
``object`` and ``oldObject`` before evaluation, everywhere, keys kept (``model.secrets``), so
no message can quote one.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import select
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kubeward.model import K8sObject
from kubeward.policies.request import admission_request

EVALUATION_TIMEOUT = 1.0
"""Seconds one evaluation of one policy on one object may take (a Pod against a realistic
policy takes ~0.15 ms; the API server's default webhook timeout is 10 s, ours 5 s)."""
LOAD_TIMEOUT = 30.0
"""Seconds to start the sandbox and compile one policy."""
RESULT_RULES = ("deny", "violation")
UNDEFINED = "<undefined>"
_LOCATION = re.compile(r"--> module-(\d+)\.rego:(\d+):(\d+)")
_MODULE_POSITION = re.compile(r"\bmodule-(\d+)\.rego:(\d+)(?::\d+)?")
"""A position named inside a message (``rule conflicts with rule at module-0.rego:3:1``)."""
_SNIPPET = re.compile(r"\n\s*\|\n\s*\d+\s*\|[^\n]*\n\s*\|[^\n]*")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)\s*(?:#.*)?$", re.M)
_FORBIDDEN_CALLS = re.compile(r"\b(http\.send|net\.lookup_ip_addr)\s*\(")
_INPUT = re.compile(r"\binput\b(\s*\.\s*(request|review|parameters)\b)?")
INPUT_KEYS = ("request", "review", "parameters")


class RegoError(ValueError):
    """A policy that does not compile: message, and the file and line it points at."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.file, self.line = file, line


class RegoEvaluationError(RuntimeError):
    """An evaluation failed (a builtin on a wrong type, conflicting values, the time limit)."""


@dataclass(frozen=True)
class RegoModule:
    """One module's text and where it sits: line 1 of ``text`` is line ``first_line`` of
    ``file``."""

    file: str
    first_line: int
    text: str


@dataclass(frozen=True)
class RegoProgram:
    """A compiled policy: its modules (the first is the policy, the rest its libraries)."""

    key: str
    package: str
    modules: tuple[RegoModule, ...]
    version: str
    rules: tuple[str, ...]
    """Which of ``deny`` and ``violation`` the package defines."""
    inputs: tuple[str, ...] = INPUT_KEYS
    """The parts of the input document the modules name: the others are not sent (the same
    object under two names costs a second JSON parse), unless ``input`` is used whole."""

    def locate(self, message: str) -> str:
        """regorus' message with its module positions as file:line, without source excerpts."""
        return _relocate(self.modules, message)


def compile_program(modules: Sequence[RegoModule], version: str | None = None) -> RegoProgram:
    """Compile a policy (``version``: ``v0``, ``v1`` or None to accept either); RegoError with
    the file and line of the problem otherwise."""
    main = modules[0]
    found = _PACKAGE.search(main.text)
    if found is None:
        raise RegoError("no package declaration (package a.b.c)", main.file, main.first_line)
    for module in modules:
        call = _FORBIDDEN_CALLS.search(module.text)
        if call is not None:
            line = module.first_line + module.text.count("\n", 0, call.start())
            raise RegoError(
                f"{call.group(1)} is not available: policies do not reach the network",
                module.file,
                line,
            )
    package = found.group(1)
    request = {
        "package": package,
        "modules": [[f"module-{i}.rego", m.text] for i, m in enumerate(modules)],
        "version": version,
    }
    key = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]
    request["key"] = key
    try:
        parsed, checked = SANDBOX.load(key, orjson.dumps(request))
    except RegoEvaluationError as exc:  # the probe evaluation took too long, or worse
        raise RegoError(
            f"evaluating the policy on an empty object failed: {exc}", main.file, main.first_line
        ) from None
    for answer in (parsed, checked):
        if "error" in answer:
            message = str(answer["error"])
            where, at = _first_position(modules, message)
            raise RegoError(_relocate(modules, message, drop_first=True), where, at)
    rules = tuple(checked["rules"])
    if not rules:
        raise RegoError(
            f"package {package} defines neither deny nor violation", main.file,
            main.first_line + main.text.count("\n", 0, found.start(1)),
        )  # fmt: skip
    return RegoProgram(key, package, tuple(modules), str(parsed["version"]), rules,
                       _input_keys(modules))  # fmt: skip


def document(obj: K8sObject, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The input document for ``obj`` (see the module docstring)."""
    request = admission_request(obj)
    return {"request": request, "review": request, "parameters": dict(parameters or {})}


def evaluate(program: RegoProgram, input_document: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the program's ``deny``/``violation`` rules (absent: undefined)."""
    return values(program, SANDBOX.evaluate(program, encode(program, input_document)))


def encode(program: RegoProgram, input_document: Mapping[str, Any]) -> bytes:
    """The input document as the sandbox takes it: JSON, with only the parts the program
    reads."""
    if len(program.inputs) < len(input_document):
        input_document = {k: v for k, v in input_document.items() if k in program.inputs}
    try:
        return orjson.dumps(input_document, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError as exc:
        raise RegoEvaluationError(f"the object cannot be given to Rego: {exc}") from None


def values(program: RegoProgram, answer: Mapping[str, Any]) -> dict[str, Any]:
    """The rule values of a sandbox answer; RegoEvaluationError (with file:line) for an
    error."""
    if "error" in answer:
        raise RegoEvaluationError(program.locate(str(answer["error"])))
    return {rule: value for rule, value in answer.items() if value != UNDEFINED}


def evaluate_ahead(
    jobs: Sequence[tuple[Hashable, RegoProgram, bytes]],
) -> AbstractContextManager[None]:
    """A context manager: the evaluations ``(token, program, encoded input)`` are sent to the
    sandbox at once, and run there while the caller does other work; ``taken(token)`` is one's
    answer. A no-op in-process (the engine holds the GIL: there is nothing to overlap)."""
    return SANDBOX.ahead(jobs)


def taken(token: Hashable) -> dict[str, Any] | None:
    """The sandbox's answer to an evaluation sent ahead (None: evaluate it now)."""
    return SANDBOX.take(token)


def messages(values: Mapping[str, Any], default: str) -> list[str]:
    """The messages of ``deny``/``violation`` values: a set (or array) of strings or of objects
    with a ``msg`` string; ``true`` is one message (``default``). Anything else is an error."""
    found: list[str] = []
    for rule, value in values.items():
        if value is True:
            found.append(default)
        elif value is False or value is None:
            continue
        elif isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    found.append(item)
                elif isinstance(item, dict) and isinstance(item.get("msg"), str):
                    found.append(item["msg"])
                else:
                    raise RegoEvaluationError(
                        f"{rule} holds {_kind(item)}: a message is a string or an object with "
                        "a msg string"
                    )
        else:
            raise RegoEvaluationError(
                f"{rule} is {_kind(value)}: expected a set of messages (or true/false)"
            )
    return sorted(set(found))


def _input_keys(modules: Sequence[RegoModule]) -> tuple[str, ...]:
    """The top-level input keys the modules read: every ``input`` must be followed by
    ``.request``, ``.review`` or ``.parameters``; any other use (``walk(input, ...)``,
    ``input[k]``, ``import input``, a comment) keeps the whole document."""
    named: set[str] = set()
    for module in modules:
        for found in _INPUT.finditer(module.text):
            if found.group(2) is None:
                return INPUT_KEYS
            named.add(found.group(2))
    return tuple(key for key in INPUT_KEYS if key in named)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object without a msg string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else type(value).__name__


def _first_position(modules: Sequence[RegoModule], message: str) -> tuple[str | None, int | None]:
    found = _LOCATION.search(message)
    if found is None:
        return modules[0].file, modules[0].first_line
    module = modules[int(found.group(1))]
    return module.file, module.first_line + int(found.group(2)) - 1


def _relocate(modules: Sequence[RegoModule], message: str, *, drop_first: bool = False) -> str:
    """``--> module-0.rego:3:7`` and its source excerpt → ``policies/x.yaml:14``."""
    text = _SNIPPET.sub("", message)

    def position(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(modules):  # not one of ours: left as it is
            return match.group(0)
        module = modules[index]
        return f"{module.file}:{module.first_line + int(match.group(2)) - 1}"

    if drop_first:  # the caller reports the first position as the problem's file and line
        text = _LOCATION.sub("", text, count=1)
    text = _LOCATION.sub(position, text)
    text = _MODULE_POSITION.sub(position, text)  # the modules' names are kubeward's own
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^(\S+:\d+) error: ", r"\1: ", text)  # file:line: what went wrong
    return text.removeprefix("error: ")


class _Pending:
    """A request sent to the sandbox (or still being written): its answer once read."""

    __slots__ = ("answer", "end", "lost", "timeout")

    def __init__(self, end: int, timeout: float) -> None:
        self.end = end
        """Where its frame ends in the stream of requests."""
        self.timeout = timeout
        self.answer: dict[str, Any] | None = None
        self.lost = False
        """The sandbox was stopped before it answered."""


class Sandbox:
    """The worker process, started on first use (and again after it is killed).

    Requests are queued: the sandbox answers them in order, so several evaluations can be sent
    at once (``ahead``) and their answers read later, while kubeward does other work. Each
    answer is awaited at most its time limit, counted from the moment the sandbox could start
    on it (its frame written and the previous answer read); requests are written without
    blocking, so a sandbox that stops reading is bounded by the same limit.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0
        """The pid that started the process (a forked child starts its own)."""
        self._loads: dict[str, bytes] = {}
        """Every program loaded, to load again into a new process."""
        self._outgoing = bytearray()
        self._offset = 0
        """Frames not written yet (the pipe was full), from ``_offset`` on."""
        self._written = 0
        self._queued = 0
        """Bytes written to the sandbox, and queued for it, since it started."""
        self._incoming = bytearray()
        self._waiting: deque[_Pending] = deque()
        """Requests sent and not answered yet, in order."""
        self._clock = 0.0
        """When the first waiting request could start (the time limit counts from there)."""
        self._ahead = threading.local()

    def load(self, key: str, request: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        """(parse answer, check answer); the check is bounded like an evaluation."""
        with self._lock:
            parsed = self._call(b"L" + request, LOAD_TIMEOUT)
            if "error" in parsed:
                return parsed, {}
            checked = self._call(b"P" + key.encode(), EVALUATION_TIMEOUT)
            if "error" not in checked:
                self._loads[key] = request
            return parsed, checked

    def evaluate(self, program: RegoProgram, encoded: bytes) -> dict[str, Any]:
        with self._lock:
            if program.key not in self._loads:
                raise RegoEvaluationError("the policy was not compiled in this process")
            return self._call(b"E" + program.key.encode() + b"\n" + encoded, EVALUATION_TIMEOUT)

    @contextmanager
    def ahead(self, jobs: Sequence[tuple[Hashable, RegoProgram, bytes]]) -> Iterator[None]:
        """Send the evaluations ``(token, program, encoded input)`` at once; inside the block,
        ``take(token)`` is the answer (the sandbox works meanwhile). The sandbox is this
        thread's until the block ends; answers nobody took are read and dropped then."""
        with self._lock:
            sent: dict[Hashable, _Pending] = {}
            try:
                process = self._running()
                for token, program, encoded in jobs:
                    if program.key in self._loads:
                        frame = b"E" + program.key.encode() + b"\n" + encoded
                        sent[token] = self._send(process, frame, EVALUATION_TIMEOUT)
            except (OSError, ValueError):  # no sandbox: each evaluation says why, one by one
                self.close()
                sent.clear()
            outer, self._ahead.sent = getattr(self._ahead, "sent", None), sent
            try:
                yield
            finally:
                self._ahead.sent = outer
                for pending in sent.values():
                    if not pending.lost:
                        with suppress(RegoEvaluationError):  # a verdict nobody asked for
                            self._answer(pending)

    def take(self, token: Hashable) -> dict[str, Any] | None:
        """The answer of an evaluation sent ``ahead`` (None: not sent, or the sandbox was
        stopped before it answered; evaluate it again)."""
        sent: dict[Hashable, _Pending] | None = getattr(self._ahead, "sent", None)
        pending = sent.pop(token, None) if sent else None
        if pending is None:
            return None
        with self._lock:
            return None if pending.lost else self._answer(pending)

    def close(self) -> None:
        process, self._process = self._process, None
        for pending in self._waiting:
            pending.lost = True
        self._waiting.clear()
        self._outgoing.clear()
        self._incoming.clear()
        self._offset = self._written = self._queued = 0
        if process is not None and self._owner == os.getpid():
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()

    def _call(self, frame: bytes, timeout: float) -> dict[str, Any]:
        try:
            process = self._running()
        except (OSError, ValueError) as exc:
            self.close()
            raise RegoEvaluationError(f"the Rego engine stopped unexpectedly ({exc})") from None
        return self._answer(self._send(process, frame, timeout))

    def _answer(self, pending: _Pending) -> dict[str, Any]:
        try:
            while pending.answer is None:
                if pending.lost:  # another evaluation's failure stopped the sandbox
                    raise RegoEvaluationError("the Rego sandbox was stopped before it answered")
                self._pump()
            return pending.answer
        except TimeoutError:
            self.close()
            raise RegoEvaluationError(
                f"evaluation exceeded {pending.timeout:g} s and was stopped (a policy that "
                "loops over a very large collection?)"
            ) from None
        except EOFError:
            self.close()
            raise RegoEvaluationError(
                "the Rego sandbox died during the evaluation (a policy that builds a very large "
                "collection runs out of its memory)"
            ) from None
        except (OSError, ValueError) as exc:
            self.close()
            raise RegoEvaluationError(f"the Rego engine stopped unexpectedly ({exc})") from None

    def _running(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():  # a forked child never uses its parent's sandbox
            self._process, self._owner = None, os.getpid()
            self.close()
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.close()
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                        os.environ.get("PYTHONPATH")])),
            "RUST_BACKTRACE": "0",  # backtraces cost time and say nothing about a policy
            "RUST_LIB_BACKTRACE": "0",
        }  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "kubeward.policies.rego_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert process.stdin is not None  # noqa: S101 - created with pipes
        os.set_blocking(process.stdin.fileno(), False)  # a full pipe never blocks kubeward
        self._process = process
        for key, request in self._loads.items():  # a restarted sandbox knows every policy
            for frame in (b"L" + request, b"P" + key.encode()):
                try:
                    answer = self._answer(self._send(process, frame, LOAD_TIMEOUT))
                except RegoEvaluationError as exc:
                    raise OSError(f"policy {key} could not be loaded again: {exc}") from None
                if "error" in answer:  # it compiled before: only an engine fault gets here
                    raise OSError(f"policy {key} no longer compiles: {answer['error']}")
        return process

    def _send(self, process: subprocess.Popen[bytes], frame: bytes, timeout: float) -> _Pending:
        if not self._waiting:
            self._clock = time.monotonic()  # the sandbox is idle: it starts on this one
        self._outgoing += struct.pack(">I", len(frame))
        self._outgoing += frame
        self._queued += 4 + len(frame)
        pending = _Pending(self._queued, timeout)
        self._waiting.append(pending)
        self._write(process)
        return pending

    def _write(self, process: subprocess.Popen[bytes]) -> None:
        """Write what the pipe takes now."""
        assert process.stdin is not None  # noqa: S101 - created with pipes
        while self._offset < len(self._outgoing):
            try:
                with memoryview(self._outgoing) as view, view[self._offset :] as rest:
                    done = os.write(process.stdin.fileno(), rest)
            except BlockingIOError:
                return
            if self._waiting and self._written < self._waiting[0].end:
                self._clock = time.monotonic()  # the sandbox is reading the first request
            self._written += done
            self._offset += done
        self._outgoing.clear()
        self._offset = 0

    def _pump(self) -> None:
        """Wait for the sandbox (at most the first waiting request's time limit): write what
        remains of the requests, read answers and hand them to their requests."""
        process = self._process
        if process is None or not self._waiting:
            raise OSError("no sandbox to wait for")
        assert process.stdin is not None  # noqa: S101 - created with pipes
        assert process.stdout is not None  # noqa: S101
        remaining = self._clock + self._waiting[0].timeout - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        readable, writable, _ = select.select(
            [process.stdout], [process.stdin] if self._outgoing else [], [], remaining
        )
        if writable:
            self._write(process)
        if not readable:
            return
        chunk = os.read(process.stdout.fileno(), 1 << 16)
        if not chunk:
            raise EOFError("the sandbox process exited")
        self._incoming += chunk
        while len(self._incoming) >= 4:
            (size,) = struct.unpack_from(">I", self._incoming)
            if len(self._incoming) < size + 4:
                break
            answer = orjson.loads(bytes(self._incoming[4 : size + 4]))
            del self._incoming[: size + 4]
            if not self._waiting:
                raise ValueError("the sandbox answered a request it was not sent")
            self._waiting.popleft().answer = answer
            self._clock = time.monotonic()  # the sandbox starts on the next one


class InProcess:
    """Evaluation inside kubeward's own process (``KUBEWARD_REGO_IN_PROCESS=1``): no process
    hop, and no bound either — a policy that never ends hangs kubeward. For trusted policies
    where every microsecond counts, and to measure what the sandbox costs."""

    def __init__(self) -> None:
        from kubeward.policies.rego_worker import Worker

        self._worker = Worker()

    def load(self, key: str, request: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        parsed = self._worker.load(orjson.loads(request))
        return parsed, ({} if "error" in parsed else self._worker.check(key))

    def evaluate(self, program: RegoProgram, encoded: bytes) -> dict[str, Any]:
        answer: dict[str, Any] = orjson.loads(self._worker.evaluate(program.key, encoded))
        return answer

    def ahead(
        self, jobs: Sequence[tuple[Hashable, RegoProgram, bytes]]
    ) -> AbstractContextManager[None]:
        """Nothing to send ahead: every evaluation runs when it is asked for."""
        return nullcontext()

    def take(self, token: Hashable) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        """Nothing to stop."""


SANDBOX: Sandbox | InProcess = (
    InProcess() if os.environ.get("KUBEWARD_REGO_IN_PROCESS") == "1" else Sandbox()
)
atexit.register(SANDBOX.close)
