"""`admission serve --pin-cpus`: the server on one CPU, users' policy processes on the others
(in a child process here, so that pytest itself is not pinned)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os
from kubeward.policies import cel_worker, placement
placed = placement.separate_from_server()
pool = cel_worker.Pool()
pool.warm(["1 == 1"])
worker = pool._active.process.pid
print(json.dumps({"placed": placed and [placed[0], sorted(placed[1])],
                  "server": sorted(os.sched_getaffinity(0)),
                  "worker": sorted(os.sched_getaffinity(worker))}))
pool.close()
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs CPU affinity and two CPUs",
)
def test_pinned_server_and_policy_processes_share_no_cpu() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(run.stdout)
    allowed = sorted(os.sched_getaffinity(0))
    assert found["placed"] == [allowed[0], allowed[1:]]
    assert found["server"] == [allowed[0]]
    assert found["worker"] == allowed[1:]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity")
def test_without_pinning_policy_processes_may_run_anywhere() -> None:
    probe = PROBE.replace("placed = placement.separate_from_server()", "placed = None")
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(run.stdout)
    allowed = sorted(os.sched_getaffinity(0))
    assert found["server"] == allowed and found["worker"] == allowed
