"""Benchmark: CEL policies that call Kubernetes library functions, at admission, in-process:
what they add to a review, and how the webhook's memory behaves over a long run.

    python bench/cel_admission.py --reviews 20000                 # added latency
    python bench/cel_admission.py --memory 100000                 # RSS over 100k reviews
    python bench/cel_admission.py --memory 100000 --worker        # in the recycled CEL worker
    python bench/cel_admission.py --memory 100000 --leak          # the engine's leak kept

The reviewer of ``kubeward admission serve`` (the object-scope catalog, the trusted registries
of bench/admission_bench.py) handles that benchmark's mix of AdmissionReviews (a compliant Pod,
a Deployment with findings, a ConfigMap). Latency: once without users' policies and once with
``--policies`` (default tests/policies/k8s_libs.yaml: quantity, regex, lists, ip/cidr, url),
interleaved review by review; p50/p99 of each and of the difference. Memory: ``--memory N``
reviews with the policies, reporting the resident memory of kubeward's process and of its CEL
worker every 10% of the run, and how many workers were replaced. By default the policies run
as the webhook runs them: in kubeward's process, with what the engine leaks given back
(``k8s_cel.reclaim``); ``--worker`` runs them in the recycled CEL worker
(``KUBEWARD_CEL_WORKER=1``, the fallback where reclaiming is impossible); ``--leak`` in
kubeward's process without reclaiming (the engine's own behaviour).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from admission_bench import CONFIG, bodies  # noqa: E402 - after the path is set
from kubeward.admission.review import Reviewer, parse, response  # noqa: E402
from kubeward.config import load_config  # noqa: E402
from kubeward.engine import EngineSettings  # noqa: E402
from kubeward.policies import cel_worker  # noqa: E402
from kubeward.policies.loader import isolate_leaking_policies, load_policies  # noqa: E402
from kubeward.rules import ALL_RULES  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:  # a worker that just exited
        return 0


def worker_rss() -> int:
    active = cel_worker.POOL._active  # a benchmark looks inside
    return rss(active.process.pid) if active is not None else 0


def handle(reviewer: Reviewer, body: bytes) -> bytes:
    request = parse(body)
    return orjson.dumps(response(request, reviewer.decide(request)))


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(plain: Reviewer, with_policies: Reviewer, reviews: int) -> None:
    mix = list(bodies().items())
    times: dict[str, dict[str, list[float]]] = {name: {"without": [], "with": []}
                                                for name, _ in mix}  # fmt: skip
    pair = (("without", plain), ("with", with_policies))
    for index in range(reviews):
        name, body = mix[index % len(mix)]
        for label, reviewer in pair if (index // len(mix)) % 2 else pair[::-1]:
            started = time.perf_counter_ns()
            handle(reviewer, body)
            times[name][label].append((time.perf_counter_ns() - started) / 1e6)
    every_without = [t for kinds in times.values() for t in kinds["without"]]
    every_with = [t for kinds in times.values() for t in kinds["with"]]
    for name, kinds in [*times.items(), ("all", {"without": every_without, "with": every_with})]:
        without, with_ = kinds["without"], kinds["with"]
        print(f"  {name:18} without: p50 {quantile(without, 0.5):.3f} p99 "
              f"{quantile(without, 0.99):.3f} ms | with: p50 {quantile(with_, 0.5):.3f} p99 "
              f"{quantile(with_, 0.99):.3f} ms | added: p50 "
              f"{quantile(with_, 0.5) - quantile(without, 0.5):+.3f} ms, p99 "
              f"{quantile(with_, 0.99) - quantile(without, 0.99):+.3f} ms, mean "
              f"{statistics.fmean(with_) - statistics.fmean(without):+.3f} ms")  # fmt: skip


def memory(reviewer: Reviewer, reviews: int) -> None:
    mix = [body for _, body in bodies().items()]
    gc.collect()
    start_self, start_worker = rss(), worker_rss()
    print(f"  start: kubeward {start_self / 2**20:.1f} MiB, CEL worker "
          f"{start_worker / 2**20:.1f} MiB")  # fmt: skip
    step = max(1, reviews // 10)
    slowest = 0.0
    started = time.perf_counter()
    for index in range(1, reviews + 1):
        before = time.perf_counter_ns()
        handle(reviewer, mix[index % len(mix)])
        slowest = max(slowest, (time.perf_counter_ns() - before) / 1e6)
        if index % step == 0:
            now_self, now_worker = rss(), worker_rss()
            print(f"  {index:>8,} reviews: kubeward {now_self / 2**20:7.1f} MiB "
                  f"({(now_self - start_self) / 2**20:+6.1f}), CEL worker "
                  f"{now_worker / 2**20:6.1f} MiB, workers replaced "
                  f"{cel_worker.POOL.replaced}, slowest review {slowest:.2f} ms")  # fmt: skip
            slowest = 0.0
    elapsed = time.perf_counter() - started
    grown = rss() - start_self
    print(f"  kubeward's process grew {grown / 2**20:+.1f} MiB over {reviews:,} reviews "
          f"({grown / 2**20 / reviews * 100_000:+.1f} MiB per 100k); {reviews / elapsed:,.0f} "
          "reviews/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reviews", type=int, default=0, help="latency: reviews each way")
    parser.add_argument("--memory", type=int, default=0, help="memory: reviews with policies")
    parser.add_argument("--policies", action="append", default=[])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--worker", action="store_true", help="in the recycled CEL worker")
    mode.add_argument("--leak", action="store_true",
                      help="in kubeward's process, the engine's leak not given back")  # fmt: skip
    args = parser.parse_args()
    if args.worker:
        os.environ["KUBEWARD_CEL_WORKER"] = "1"
    if not (args.reviews or args.memory):
        args.reviews = 20000
    paths = args.policies or [str(HERE.parent / "tests" / "policies" / "k8s_libs.yaml")]
    config_file = Path(os.environ.get("TMPDIR", "/tmp")) / "kubeward-cel-bench.yaml"
    config_file.write_text(CONFIG)
    config = load_config(config_file)
    engine = EngineSettings(params=config.params)
    loaded = load_policies(paths, {r.id for r in ALL_RULES} | {r.name for r in ALL_RULES})
    assert not loaded.problems, loaded.problems
    isolated = isolate_leaking_policies(loaded)
    if args.leak:
        from kubeward.policies.k8s_cel import reclaim

        reclaim.SWITCH.on = False
    plain = Reviewer(ALL_RULES, engine, config.admission)
    with_policies = Reviewer((*ALL_RULES, *loaded.rules), engine, config.admission)
    for _ in range(300):  # warm up both
        for _, body in bodies().items():
            handle(plain, body)
            handle(with_policies, body)
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(f"command: python bench/cel_admission.py {' '.join(sys.argv[1:])}\ndate: {date}\n"
          f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}\n"
          f"policies: {', '.join(r.id for r in loaded.rules)} from {', '.join(paths)}; "
          f"in the CEL worker: {', '.join(isolated) or 'none'} (replaced after "
          f"{cel_worker.MAX_EVALUATIONS:,} evaluations or "
          f"{cel_worker.MAX_GROWTH_MB:g} MiB)")  # fmt: skip
    if args.reviews:
        latency(plain, with_policies, args.reviews)
    if args.memory:
        memory(with_policies, args.memory)


if __name__ == "__main__":
    main()
