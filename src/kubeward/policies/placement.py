"""Which CPUs users' policy processes (the Rego sandbox, the CEL worker) may run on.

Measured on a 2-CPU machine at 1,000 reviews/s (BENCHMARKS.md): when the webhook hands an
evaluation to a policy process, Linux tends to wake that process on the webhook's own CPU
(wake-affine placement), where it waits behind the webhook or pre-empts it, so the evaluation
that was meant to overlap the built-in rules runs after them instead; a CEL-worker policy then
added +0.8-1.0 ms at p99. With the webhook on one CPU and its policy processes on the others
it added nothing measurable. ``admission serve --pin-cpus`` asks for that split; it is not the
default, because pinning the event loop to one CPU is wrong where that CPU is shared with
busier neighbours (give the pod whole CPUs of its own first, e.g. a static CPU manager policy).
"""

from __future__ import annotations

import os

_worker_cpus: frozenset[int] | None = None


def separate_from_server() -> tuple[int, frozenset[int]] | None:
    """Pin the calling thread (the webhook's event loop, before it starts any thread) to one
    of its allowed CPUs and reserve the others for policy processes started from now on;
    None (and nothing changed) with fewer than two CPUs or where affinity is not supported."""
    global _worker_cpus  # noqa: PLW0603 - one placement per process, set once at start-up
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):  # not Linux
        return None
    if len(allowed) < 2:
        return None
    server = min(allowed)
    workers = frozenset(allowed - {server})
    os.sched_setaffinity(0, {server})
    _worker_cpus = workers
    return server, workers


def place_worker(pid: int) -> None:
    """Keep a newly started policy process off the webhook's CPU (when ``separate_from_server``
    was called); a failure costs only the placement."""
    if _worker_cpus is None:
        return
    try:
        os.sched_setaffinity(pid, _worker_cpus)
    except OSError:
        return
