"""Benchmark: what one Rego policy adds to the webhook's handling of a review, in-process.

    python bench/rego_admission.py                        # 10,000 reviews each way
    python bench/rego_admission.py --policies bench/rego/registry.yaml

The reviewer of ``kubeward admission serve`` (the whole object-scope catalog, the trusted
registries of bench/admission_bench.py) handles the same mix of AdmissionReviews as that
benchmark (a compliant Pod, a Deployment with findings, a ConfigMap): parse, decide, answer,
serialise. Once without users' policies, once with the policies given (default: the
seven-rule bench/rego/workload.yaml, which judges the Pod and the Deployment), interleaved
review by review (which goes first alternates) so that both see the same machine. Reported:
p50/p99 of each and of the difference per review kind. ``KUBEWARD_REGO_IN_PROCESS=1``
measures evaluation without the sandbox process.
"""

from __future__ import annotations

import argparse
import datetime
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
from kubeward.policies.loader import load_policies  # noqa: E402
from kubeward.rules import ALL_RULES  # noqa: E402


def handle(reviewer: Reviewer, body: bytes) -> bytes:
    request = parse(body)
    return orjson.dumps(response(request, reviewer.decide(request)))


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description="in-process admission cost of Rego policies")
    parser.add_argument("--reviews", type=int, default=10000)
    parser.add_argument("--policies", action="append", default=[])
    args = parser.parse_args()
    paths = args.policies or [str(HERE / "rego" / "workload.yaml")]
    config_file = Path(os.environ.get("TMPDIR", "/tmp")) / "kubeward-rego-bench.yaml"
    config_file.write_text(CONFIG)
    config = load_config(config_file)
    engine = EngineSettings(params=config.params)
    loaded = load_policies(paths, {r.id for r in ALL_RULES} | {r.name for r in ALL_RULES})
    assert not loaded.problems, loaded.problems
    plain = Reviewer(ALL_RULES, engine, config.admission)
    with_rego = Reviewer((*ALL_RULES, *loaded.rules), engine, config.admission)
    mix = list(bodies().items())
    for _ in range(300):  # warm up both (and start the sandbox)
        for _, body in mix:
            handle(plain, body)
            handle(with_rego, body)
    times: dict[str, dict[str, list[float]]] = {name: {"without": [], "with": []}
                                                for name, _ in mix}  # fmt: skip
    answers = {}
    pair = (("without", plain), ("with", with_rego))
    for index in range(args.reviews):
        name, body = mix[index % len(mix)]
        # alternate which goes first: the second of a pair finds the caches warm
        for label, reviewer in pair if (index // len(mix)) % 2 else pair[::-1]:
            started = time.perf_counter_ns()
            answers[(name, label)] = handle(reviewer, body)
            times[name][label].append((time.perf_counter_ns() - started) / 1e6)
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(f"command: python bench/rego_admission.py --reviews {args.reviews} "
          f"{' '.join(f'--policies {p}' for p in args.policies)}\ndate: {date}\n"
          f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}\n"
          f"policies: {', '.join(r.id for r in loaded.rules)} from {', '.join(paths)}")  # fmt: skip
    every_without = [t for kinds in times.values() for t in kinds["without"]]
    every_with = [t for kinds in times.values() for t in kinds["with"]]
    for name, kinds in [*times.items(), ("all", {"without": every_without, "with": every_with})]:
        without, with_ = kinds["without"], kinds["with"]
        print(f"  {name:18} without: p50 {quantile(without, 0.5):.3f} ms p99 "
              f"{quantile(without, 0.99):.3f} ms | with: p50 {quantile(with_, 0.5):.3f} ms p99 "
              f"{quantile(with_, 0.99):.3f} ms | added: p50 "
              f"{quantile(with_, 0.5) - quantile(without, 0.5):+.3f} ms, p99 "
              f"{quantile(with_, 0.99) - quantile(without, 0.99):+.3f} ms, mean "
              f"{statistics.fmean(with_) - statistics.fmean(without):+.3f} ms")  # fmt: skip
    for name, _ in mix:
        verdict = orjson.loads(answers[(name, "with")])["response"]
        print(f"  {name:18} with the policies: allowed={verdict['allowed']} "
              f"{verdict.get('status', {}).get('message', '')[:150]}")  # fmt: skip


if __name__ == "__main__":
    main()
