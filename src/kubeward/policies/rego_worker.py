"""The Rego sandbox process: ``python -m kubeward.policies.rego_worker`` (started by
``kubeward.policies.rego``, never by users).

It holds one regorus engine per policy and answers framed requests on its standard input and
output (a 4-byte big-endian length, then the payload):

- ``L`` + JSON ``{"key", "package", "modules": [[name, text], ...], "version": "v0"|"v1"|null}``:
  parse a policy; the answer is ``{"version"}`` or ``{"error"}``. A null version tries v1,
  then v0.
- ``P`` + key: check the parsed policy by evaluating it once on an empty object (regorus
  checks modules on their first evaluation); the answer is ``{"rules"}`` (which of ``deny``
  and ``violation`` it defines) or ``{"error"}``. Kept apart from ``L`` so that kubeward can
  give it the time limit of an evaluation.
- ``E`` + key + ``\\n`` + input JSON: evaluate; the answer maps each rule to its JSON value
  (``"<undefined>"`` when a complete rule has no value) or is ``{"error"}``.

Requests may be queued (kubeward writes several before it reads): they are answered one by
one, in order, each answer written as soon as it is ready.

Why a process of its own: the regorus binding holds the GIL for a whole evaluation and exposes
no instruction or time limit, so only a process kubeward can kill bounds a policy that never
ends. Its address space is capped too (``MEMORY_LIMIT_MB``; ``KUBEWARD_REGO_MEMORY_LIMIT_MB``
overrides it), so that a policy building a huge collection fails here (the process dies, the
evaluation is an error) before the time limit, rather than exhausting the machine. The
protocol channel is a private copy of the standard output; the real one is pointed at standard
error, so nothing a library prints can corrupt a frame.
"""

from __future__ import annotations

import os
import re
import struct
import sys
from typing import Any, BinaryIO

import orjson
import regorus

from kubeward.policies.frames import read_frame

RESULT_RULES = ("deny", "violation")
UNDEFINED_RULE = "not a valid rule path"
STATIC_ERRORS = re.compile(
    r"could not find function|is unsafe|recursion detected|expects \d+ arguments?"
    r"|rule conflicts with rule"
)
"""The errors regorus finds before it looks at the input (it checks modules on their first
evaluation): a policy showing one on the probe input is broken whatever it judges. Other errors
on the probe (a builtin failing on a missing value) may well be the input's fault: they are
left to evaluation."""
POSITION = re.compile(r"--> [^:\n]+:(\d+):(\d+)")
MEMORY_LIMIT_MB = 4096
"""Address space of the sandbox: ~1 GiB is mapped at start (Python, the engine), a realistic
evaluation needs a few MiB."""
PROBE_INPUT: dict[str, Any] = {
    "request": {"object": {}},
    "review": {"object": {}},
    "parameters": {},
}


def _clean(error: BaseException) -> str:
    """regorus' message without the Rust backtrace some environments ask for."""
    return str(error).split("\nStack backtrace:", 1)[0].strip()


class Worker:
    def __init__(self) -> None:
        self.engines: dict[str, tuple[Any, tuple[str, ...]]] = {}
        """By policy key: the engine and the full paths of the rules it defines."""
        self.parsed: dict[str, tuple[Any, str]] = {}
        """Policies parsed and not checked yet: the engine and the package."""

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        versions = [request["version"]] if request.get("version") else ["v1", "v0"]
        errors: list[str] = []
        for version in versions:
            engine = regorus.Engine()
            engine.set_rego_v0(version == "v0")
            engine.set_gather_prints(True)  # print() output must not reach kubeward's logs
            try:
                for name, text in request["modules"]:
                    engine.add_policy(name, text)
            except Exception as exc:
                errors.append(_clean(exc))
                continue
            self.parsed[request["key"]] = (engine, request["package"])
            return {"version": version}
        # neither version parses: the parse that got further names the real mistake
        return {"error": max(errors, key=_position)}

    def check(self, key: str) -> dict[str, Any]:
        engine, package = self.parsed.pop(key)
        rules = []
        engine.set_input(PROBE_INPUT)
        for rule in RESULT_RULES:
            path = f"data.{package}.{rule}"
            try:
                engine.eval_rule_as_json(path)
            except Exception as exc:
                message = _clean(exc)
                if message == UNDEFINED_RULE:
                    continue
                if STATIC_ERRORS.search(message):
                    return {"error": message}
            rules.append(rule)
        engine.take_prints()
        self.engines[key] = (engine, tuple(f"data.{package}.{r}" for r in rules))
        return {"rules": rules}

    def evaluate(self, key: str, document: bytes) -> bytes:
        engine, paths = self.engines[key]
        try:
            engine.set_input_json(document.decode())
            values = [engine.eval_rule_as_json(path) for path in paths]
        except Exception as exc:
            return orjson.dumps({"error": _clean(exc)})
        finally:
            engine.take_prints()
        parts = [orjson.dumps(path.rsplit(".", 1)[1]) + b":" + value.encode()
                 for path, value in zip(paths, values, strict=True)]  # fmt: skip
        return b"{" + b",".join(parts) + b"}"


def _position(message: str) -> tuple[int, int]:
    found = POSITION.search(message)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def serve(incoming: BinaryIO, outgoing: BinaryIO) -> None:
    worker = Worker()
    while True:
        frame = read_frame(incoming)
        if frame is None:
            return  # kubeward closed the pipe (it exited or let the sandbox go)
        op, body = frame[:1], frame[1:]
        if op == b"L":
            answer = orjson.dumps(worker.load(orjson.loads(body)))
        elif op == b"P":
            answer = orjson.dumps(worker.check(body.decode()))
        elif op == b"E":
            key, _, document = body.partition(b"\n")
            answer = worker.evaluate(key.decode(), document)
        else:
            answer = orjson.dumps({"error": f"unknown request {op!r}"})
        outgoing.write(struct.pack(">I", len(answer)) + answer)
        outgoing.flush()


def cap_memory() -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no cap, the time limit still applies
        return
    limit = int(os.environ.get("KUBEWARD_REGO_MEMORY_LIMIT_MB") or MEMORY_LIMIT_MB) << 20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main() -> None:
    cap_memory()
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, channel)


if __name__ == "__main__":
    main()
