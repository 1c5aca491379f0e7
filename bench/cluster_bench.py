"""Benchmark: `kubeward scan --cluster` against a real API server holding 10,000 objects.

    python bench/cluster_bench.py [--objects 10000] [--runs 3]

Starts the test control plane (tests/testcluster.py; `make testcluster` builds it), creates the
objects of the seeded benchmark corpus (bench/corpus.py: Deployments, Pods, Services,
ConfigMaps, Secrets, RBAC, ...) with server-side apply, then times the real command end to end
in fresh processes (best wall time, largest peak RSS) and, in this process, how that splits
between listing and evaluation.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from tests import testcluster  # noqa: E402

from corpus import TEAMS, generate  # noqa: E402
from kubeward.cluster import kubeconfig, live  # noqa: E402
from kubeward.cluster.client import ApiClient  # noqa: E402
from kubeward.config import load_config  # noqa: E402
from kubeward.engine import EngineSettings, evaluate  # noqa: E402
from kubeward.model import Inventory, K8sObject  # noqa: E402
from kubeward.rules import ALL_RULES  # noqa: E402
from kubeward.sources.load import LoadOptions, load  # noqa: E402

PROBE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall": wall, "rss": rss, "code": done.returncode,
                  "stderr": done.stderr.decode(errors="replace")[-400:]}))
"""


def admissible(objects: list[K8sObject]) -> list[dict[str, Any]]:
    """What the API server accepts: the corpus gives some init containers probes (refused
    without restartPolicy: Always) and some containers of one pod the same port (refused for
    host-network pods, whose hostPorts default to them), and pods need their service accounts
    to exist."""
    accounts = {(o.namespace or "default", o.name) for o in objects if o.kind == "ServiceAccount"}
    missing = set()
    for obj in objects:
        if obj.pod_spec is None:
            continue
        for init in obj.pod_spec.get("initContainers") or ():
            init.pop("livenessProbe", None)
            init.pop("readinessProbe", None)
        taken: set[int] = set()  # containers of a pod share its network: one port, one owner
        for container in obj.pod_spec.get("containers") or ():
            ports = container.get("ports") or []
            container["ports"] = [p for p in ports if p.get("containerPort") not in taken]
            taken.update(p.get("containerPort") for p in ports)
        account = obj.pod_spec.get("serviceAccountName") or "default"
        if account != "default" and (obj.namespace or "default", account) not in accounts:
            missing.add((obj.namespace or "default", account))
    made = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": n, "namespace": ns}}
        for ns, n in sorted(missing)
    ]
    first = ("ServiceAccount", "Role", "ClusterRole")
    ordered = sorted(objects, key=lambda o: 0 if o.kind in first else 1)
    return made + [o.raw for o in ordered]


def populate(cluster: testcluster.TestCluster, objects: list[dict[str, Any]]) -> int:
    """Server-side apply with 8 concurrent clients; returns how many the server accepted."""
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": team}}
        for team in TEAMS
        if team != "default"
    ]
    cluster.apply(namespaces)
    accounts = [o for o in objects if o["kind"] == "ServiceAccount"]
    others = [o for o in objects if o["kind"] != "ServiceAccount"]
    # pods are admitted only once their accounts exist
    failures = cluster.apply_in_waves([accounts, others])
    if failures:
        print(f"{len(failures)} objects refused, e.g. {failures[:3]}", file=sys.stderr)
    return len(objects) - len(failures)


def measure(command: list[str], runs: int) -> tuple[float, float, list[float]]:
    walls, peak = [], 0.0
    for _ in range(runs):
        probe = [sys.executable, "-c", PROBE, *command]
        row = json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
        if row["code"] not in (0, 1, 2):
            raise SystemExit(f"kubeward failed ({row['code']}): {row['stderr']}")
        walls.append(row["wall"])
        peak = max(peak, row["rss"])
    return min(walls), peak, walls


def main() -> None:
    parser = argparse.ArgumentParser(description="kubeward scan --cluster benchmark")
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kubeward-cluster-bench-"))
    try:
        generate(work / "corpus", objects=args.objects, per_file=100, seed=7)
        loaded = load([str(work / "corpus")], LoadOptions())
        unique = {(o.kind, o.namespace or "default", o.name): o for o in loaded.objects}
        raws = admissible(list(unique.values()))
        with testcluster.running(work / "cluster") as cluster:
            started = time.perf_counter()
            stored = populate(cluster, raws)
            print(f"created {stored:,} objects in {time.perf_counter() - started:.0f} s")
            kubeward_bin = str(Path(sys.executable).parent / "kubeward")
            config = HERE / "kubeward-bench.yaml"
            command = [
                kubeward_bin, "scan", "--cluster", "--kubeconfig", str(cluster.kubeconfig),
                "--config", str(config), "-f", "json", "-o", str(work / "report.json"),
            ]  # fmt: skip
            wall, rss, walls = measure(command, args.runs)
            report = json.loads((work / "report.json").read_text())
            # the split, in this process (best of the runs)
            connection = kubeconfig.load(str(cluster.kubeconfig))
            params = load_config(config).params
            lists, evals = [], []
            for _ in range(args.runs):
                gc.disable()
                clock = time.perf_counter()
                with ApiClient(connection) as client:
                    read = live.read(client)
                listed = time.perf_counter()
                evaluate(Inventory(read.objects), ALL_RULES, EngineSettings(params=params))
                lists.append(listed - clock)
                evals.append(time.perf_counter() - listed)
                gc.enable()
        date = datetime.now(UTC).isoformat(timespec="seconds")
        machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        print(f"date: {date}\nmachine: {machine}")
        summary = report["summary"]
        print(f"objects in the cluster from the corpus: {stored:,}; scanned: "
              f"{summary['objects']:,}; findings: {summary['findings']:,}")  # fmt: skip
        print(f"kubeward scan --cluster: best {wall:.2f} s of {[round(w, 2) for w in walls]}, "
              f"peak RSS {rss:.0f} MiB")  # fmt: skip
        print(f"in-process split (best of {args.runs}): listing {min(lists):.2f} s, "
              f"evaluation {min(evals):.2f} s")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
