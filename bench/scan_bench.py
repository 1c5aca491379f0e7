"""Benchmark: `kubeward scan` on the 20,000-object corpus, side by side with Checkov.

    python bench/scan_bench.py                # both (installs Checkov into bench/.venv-checkov)
    python bench/scan_bench.py --no-checkov   # kubeward only

Each measurement runs the real command in a fresh process: wall time is the best of ``--runs``
runs, peak RSS the largest resident set of any one process (getrusage of a child), and the
peak of all processes the largest sampled sum of the resident sets of the command and its
children (Checkov forks workers; kubeward runs in one process).
Prints Markdown rows for BENCHMARKS.md and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = HERE / ".venv-checkov"
CORPUS_OBJECTS = 20_000
SLICE_FILES = 20  # 100 objects per file: the 2,000-object slice Checkov is measured on

sys.path.insert(0, str(HERE))
from corpus import generate  # noqa: E402 - the generator lives next to this script

# Runs the command as its own child so RUSAGE_CHILDREN reports that process alone (the largest
# resident set of it and its workers), and samples the resident sets of the whole process tree
# every 20 ms from /proc/PID/statm (a counter read: PSS from smaps_rollup walks the page tables
# under the process's memory lock, and sampling it slowed a scan by 40%). The sum counts pages
# that processes share once per process: an upper bound of what they hold together.
PROBE = """
import json, os, resource, subprocess, sys, threading, time

def tree(pid):
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return found

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0

start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak_tree = 0
def sample():
    global peak_tree
    while process.poll() is None:
        peak_tree = max(peak_tree, sum(rss_kib(pid) for pid in tree(process.pid)))
        time.sleep(0.02)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
stderr = process.stderr.read()
process.wait()
wall = time.perf_counter() - start
sampler.join()
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall": wall, "rss": rss, "tree": peak_tree / 1024, "code": process.returncode,
                  "stderr": stderr.decode(errors="replace")[-400:]}))
"""


@dataclass
class Measurement:
    name: str
    objects: int
    walls: list[float]
    peak_rss_mib: float
    peak_tree_mib: float = 0.0
    """The largest sampled sum of resident sets over the process and its children."""

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def objects_per_second(self) -> float:
        return self.objects / self.best


def measure(name: str, objects: int, command: list[str], runs: int) -> Measurement:
    walls: list[float] = []
    peak = tree = 0.0
    for _ in range(runs):
        probe = [sys.executable, "-c", PROBE, *command]
        row = json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
        if row["code"] not in (0, 1):  # 1 = findings, expected on this corpus
            raise SystemExit(f"{name}: exit {row['code']}\n{row['stderr']}")
        walls.append(row["wall"])
        peak = max(peak, row["rss"])
        tree = max(tree, row["tree"])
    return Measurement(name, objects, walls, peak, tree)


def ensure_corpus(work: Path) -> Path:
    target = work / "corpus"
    if len(list(target.glob("*.yaml"))) != CORPUS_OBJECTS // 100:
        print("generating the corpus (seed 42)...", file=sys.stderr)
        generate(target, objects=CORPUS_OBJECTS, per_file=100, seed=42)
    return target


def ensure_slice(corpus: Path, work: Path) -> Path:
    target = work / "slice-2000"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(corpus.glob("*.yaml"))[:SLICE_FILES]:
        shutil.copy(path, target / path.name)
    return target


def ensure_checkov() -> Path:
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        print(f"installing checkov {CHECKOV_VERSION} into {CHECKOV_VENV}...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        pip = str(CHECKOV_VENV / "bin" / "pip")
        subprocess.run([pip, "install", "--quiet", f"checkov=={CHECKOV_VERSION}"], check=True)
    return binary


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with Path("/proc/cpuinfo").open() as info:
        models = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    if models:
        cpu = models[0]
    python = platform.python_version()
    return f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, Python {python}"


def main() -> None:
    parser = argparse.ArgumentParser(description="kubeward scan benchmark")
    parser.add_argument("--runs", type=int, default=3)
    default_work = Path(os.environ.get("TMPDIR", "/tmp")) / "kubeward-bench"
    parser.add_argument("--work", type=Path, default=default_work)
    parser.add_argument("--no-checkov", action="store_true")

    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)

    kubeward = str(Path(sys.executable).parent / "kubeward")
    corpus = ensure_corpus(args.work)
    slice_dir = ensure_slice(corpus, args.work)
    report = args.work / "report.json"
    config = HERE / "kubeward-bench.yaml"
    scan = [kubeward, "scan", "--config", str(config), "--format", "json", "--output", str(report)]

    rows = [measure("kubeward, full corpus", CORPUS_OBJECTS, [*scan, str(corpus)], args.runs)]
    findings = json.loads(report.read_text())["summary"]["findings"]
    rows.append(measure("kubeward, 2,000-object slice", 2000, [*scan, str(slice_dir)], args.runs))
    if not args.no_checkov:
        checkov = [str(ensure_checkov()), "-d", str(slice_dir), "--framework", "kubernetes"]
        checkov += ["-o", "json", "--compact", "--quiet", "--skip-download"]
        rows.append(measure(f"checkov {CHECKOV_VERSION}, 2,000-object slice", 2000, checkov, 1))

    megabytes = sum(p.stat().st_size for p in corpus.glob("*.yaml")) / 1e6
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "corpus": f"{CORPUS_OBJECTS:,} objects, 200 files, {megabytes:.1f} MB",
        "findings_full_corpus": findings,
        "rows": [asdict(row) | {"best": row.best} for row in rows],
    }
    (RESULTS / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")

    print(f"date: {summary['date']}\nmachine: {summary['machine']}\ncorpus: {summary['corpus']}")
    print(f"findings on the full corpus: {findings:,}\n")
    print(
        "| run | objects | wall (best of runs) | peak RSS | peak RSS, all processes | objects/s |"
        f"\n|{'---|' * 6}"
    )
    for row in rows:
        wall = f"{row.best:.2f} s ({len(row.walls)})"
        print(
            f"| {row.name} | {row.objects:,} | {wall} | {row.peak_rss_mib:.0f} MiB "
            f"| {row.peak_tree_mib:.0f} MiB | {row.objects_per_second:,.0f} |"
        )
    if not args.no_checkov:
        ratio = rows[0].objects_per_second / rows[-1].objects_per_second
        print(f"\nkubeward (full corpus) objects/s over Checkov's (slice): {ratio:.0f}x")


if __name__ == "__main__":
    main()
