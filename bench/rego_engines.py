"""Benchmark and conformance check of the Python Rego engines kubeward could use.

    pip install regopy==1.5.2        # the candidate kubeward does not depend on (optional)
    python bench/rego_engines.py     # needs opa for conformance (tools/build-go-tools.sh)

Engines: regorus (the ``gordon-to-regorus`` wheel kubeward depends on: in-process, and through
kubeward's sandbox process as the product runs it) and regopy (Microsoft rego-cpp, the official
wheel: ad-hoc queries and a prebuilt bundle). An engine that is not installed is skipped.

Speed: per-evaluation time (set the input, evaluate ``deny``) of the policy in
bench/rego/workload.yaml (seven rules over every container) on a Pod with an init container and
two containers, as an AdmissionReview request; p50 and p99 over ``--runs`` evaluations.

Conformance: every policy of tests/rego_conformance on every object of tests/rules/fixtures,
compared with ``opa eval --strict-builtin-errors`` (v0 policies with ``--v0-compatible``, as
regorus' v0 mode; regopy has no v0 switch): same set of messages, or both failing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from kubeward.policies import rego as kubeward_rego  # noqa: E402 - after the path is set

CONFORMANCE = sorted((ROOT / "tests" / "rego_conformance").glob("*.rego"))
FIXTURES = ROOT / "tests" / "rules" / "fixtures"
PARAMETERS = {"repos": ["registry.corp.example/", "ghcr.io/acme/"]}
ERROR = "error"


def workload_policy() -> str:
    document = yaml.safe_load((HERE / "rego" / "workload.yaml").read_text())
    return str(document["spec"]["rego"])


def bench_input() -> dict[str, Any]:
    def container(name: str, image: str) -> dict[str, Any]:
        return {
            "name": name, "image": image, "imagePullPolicy": "Always",
            "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]}},
            "resources": {"limits": {"cpu": "1", "memory": "256Mi"},
                          "requests": {"cpu": "100m", "memory": "128Mi"}},
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
        }  # fmt: skip

    pinned = "registry.corp.example/shop/api@sha256:" + "a" * 64
    spec = {"securityContext": {"runAsNonRoot": True},
            "initContainers": [container("setup", pinned)],
            "containers": [container("api", pinned),
                           container("sidecar", "nginx:1.27")]}  # fmt: skip
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "api", "namespace": "shop", "labels": {"team": "payments"}},
           "spec": spec}  # fmt: skip
    request = {"uid": "u", "operation": "CREATE", "userInfo": {"username": "alice"},
               "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "shop",
               "name": "api", "object": pod, "oldObject": None}  # fmt: skip
    return {"request": request, "review": request, "parameters": {}}


def percentiles(run: Callable[[], object], runs: int) -> tuple[float, float, float]:
    for _ in range(min(1000, runs // 10)):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return (samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000,
            statistics.fmean(samples) / 1000)  # fmt: skip


def package_of(text: str) -> str:
    found = re.search(r"^package\s+(\S+)", text, re.M)
    assert found is not None
    return found.group(1)


class Regorus:
    name = "regorus (gordon-to-regorus, in-process)"

    def __init__(self, text: str, v0: bool = False) -> None:
        import regorus

        self.engine = regorus.Engine()
        self.engine.set_rego_v0(v0)
        self.engine.add_policy("policy.rego", text)
        self.package = package_of(text)

    def run(self, document: dict[str, Any], rule: str = "deny") -> Any:
        # JSON in, JSON out: faster than handing over a dict (and what kubeward's sandbox does)
        self.engine.set_input_json(orjson.dumps(document).decode())
        value = json.loads(self.engine.eval_rule_as_json(f"data.{self.package}.{rule}"))
        return None if value == "<undefined>" else value


class Sandboxed:
    name = "regorus through kubeward's sandbox process"

    def __init__(self, text: str, v0: bool = False) -> None:
        module = kubeward_rego.RegoModule("policy.rego", 1, text)
        self.program = kubeward_rego.compile_program([module], "v0" if v0 else "v1")

    def run(self, document: dict[str, Any], rule: str = "deny") -> Any:
        return kubeward_rego.evaluate(self.program, document).get(rule)


class Regopy:
    name = "regopy (rego-cpp), prebuilt bundle"

    def __init__(self, text: str, v0: bool = False) -> None:
        import regopy

        self.regopy = regopy
        self.interpreter = regopy.Interpreter()
        self.interpreter.add_module("policy.rego", text)  # no v0 switch exists
        self.package = package_of(text)
        self.bundles: dict[str, Any] = {}

    def run(self, document: dict[str, Any], rule: str = "deny") -> Any:
        bundle = self.bundles.get(rule)
        if bundle is None:
            bundle = self.bundles[rule] = self.interpreter.build(f"data.{self.package}.{rule}")
        self.interpreter.set_input(self.regopy.Input(document))
        output = self.interpreter.query_bundle(bundle)
        if not output.ok():  # printing an error output crashes regopy 1.5.2: not touched
            raise RuntimeError("evaluation error")
        text = str(output)
        return None if text == "undefined" else json.loads(text)["expressions"][0]


class RegopyAdHoc(Regopy):
    name = "regopy (rego-cpp), ad-hoc query"

    def run(self, document: dict[str, Any], rule: str = "deny") -> Any:
        self.interpreter.set_input(self.regopy.Input(document))
        output = self.interpreter.query(f"data.{self.package}.{rule}")
        if not output.ok():
            raise RuntimeError("evaluation error")
        text = str(output)
        return None if text == "undefined" else json.loads(text)["expressions"][0]


def engines() -> list[type[Regorus] | type[Sandboxed] | type[Regopy]]:
    found: list[type[Regorus] | type[Sandboxed] | type[Regopy]] = []
    try:
        import regorus  # noqa: F401 - availability only

        found += [Regorus, Sandboxed]
    except ImportError:
        print("regorus is not installed: skipped")
    try:
        import regopy  # noqa: F401 - availability only

        found += [Regopy, RegopyAdHoc]
    except ImportError:
        print("regopy is not installed (pip install regopy==1.5.2): skipped")
    return found


def canonical(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(json.dumps(item, sort_keys=True) for item in value)
    return json.dumps(value, sort_keys=True) if value not in (None, [], {}) else []


def fixture_inputs() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(FIXTURES.glob("*/*.yaml")):
        for raw in yaml.safe_load_all(path.read_text()):
            if isinstance(raw, dict) and isinstance(raw.get("kind"), str):
                group, _, version = str(raw.get("apiVersion", "")).rpartition("/")
                found = raw.get("metadata")
                meta: dict[str, Any] = found if isinstance(found, dict) else {}
                request = {"kind": {"group": group, "version": version, "kind": raw["kind"]},
                           "operation": "CREATE", "namespace": meta.get("namespace", ""),
                           "name": meta.get("name", ""), "userInfo": {"username": "alice"},
                           "object": raw, "oldObject": None}  # fmt: skip
                cases.append({"request": request, "review": request, "parameters": PARAMETERS})
    return cases


def opa_answers(opa: str, path: Path, rule: str, cases: list[dict[str, Any]]) -> list[Any]:
    """opa's value per case ('error' where it fails), batched with `with input as`."""
    v0 = "_v0" in path.name
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cases.json"

        def run(batch: list[dict[str, Any]]) -> dict[int, Any] | None:
            data.write_text(json.dumps({"cases": batch}))
            package = package_of(path.read_text())
            value = f"data.{package}.{rule}"
            query = f"x := {{i: v | c := data.cases[i]; v := {value} with input as c}}"
            args = [opa, "eval", "--strict-builtin-errors", "-f", "json", "-d", str(path),
                    "-d", str(data), query, *(["--v0-compatible"] if v0 else [])]  # fmt: skip
            done = subprocess.run(args, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return None
            values = json.loads(done.stdout)["result"][0]["bindings"]["x"]
            return {int(k): v for k, v in values.items()}

        def answers(batch: list[dict[str, Any]], offset: int) -> dict[int, Any]:
            found = run(batch)
            if found is not None:
                return {offset + i: found.get(i) for i in range(len(batch))}
            if len(batch) == 1:
                return {offset: ERROR}
            half = len(batch) // 2  # bisect to the cases opa fails on
            return {**answers(batch[:half], offset), **answers(batch[half:], offset + half)}

        found = answers(cases, 0)
    return [found[i] for i in range(len(cases))]


def conformance(opa: str | None) -> dict[str, tuple[int, int]]:
    if opa is None:
        print("opa not found (tools/build-go-tools.sh): conformance skipped")
        return {}
    cases = fixture_inputs()
    totals: dict[str, tuple[int, int]] = {}
    for path in CONFORMANCE:
        text = path.read_text()
        rules = [r for r in ("deny", "violation") if re.search(rf"^{r}\b", text, re.M)]
        for rule in rules:
            expected = opa_answers(opa, path, rule, cases)
            for engine in engines():
                if engine is RegopyAdHoc:
                    continue  # same engine as the bundle
                agree = 0
                try:
                    instance = engine(text, v0="_v0" in path.name)
                except Exception as exc:
                    print(f"  {engine.name}: {path.name} does not load: {str(exc)[:120]}")
                    instance = None
                for case, want in zip(cases, expected, strict=True):
                    if instance is None:
                        continue
                    try:
                        got = canonical(instance.run(case, rule))
                    except Exception:
                        got = ERROR
                    agree += got == (want if want == ERROR else canonical(want))
                done, total = totals.get(engine.name, (0, 0))
                totals[engine.name] = (done + agree, total + len(cases))
                print(f"  {path.name:28} {rule:9} {engine.name:45} {agree}/{len(cases)}")
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description="Rego engines: speed and conformance")
    parser.add_argument("--runs", type=int, default=20000)
    args = parser.parse_args()
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())  # fmt: skip
    print(f"command: python bench/rego_engines.py --runs {args.runs}\ndate: {date}\n"
          f"machine: {platform.machine()} {cpu}, {os.cpu_count()} CPUs, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    text = workload_policy()
    document = bench_input()
    print(f"\nspeed: bench/rego/workload.yaml on a 3-container Pod "
          f"({len(orjson.dumps(document))} bytes of input), per evaluation")  # fmt: skip
    for engine in engines():
        instance = engine(text)
        runs = args.runs // 10 if engine is RegopyAdHoc else args.runs
        result = instance.run(document)
        p50, p99, mean = percentiles(lambda: instance.run(document), runs)  # noqa: B023 - now
        print(f"  {engine.name:45} p50 {p50:8.1f} us  p99 {p99:8.1f} us  mean {mean:8.1f} us"
              f"  ({runs} runs) -> {json.dumps(result)[:90]}")  # fmt: skip
    opa = os.environ.get("KUBEWARD_OPA") or shutil.which("opa")
    cached = Path.home() / ".cache" / "kubeward" / "tools" / "bin" / "opa"
    opa = opa or (str(cached) if cached.exists() else None)
    print(f"\nconformance: {len(CONFORMANCE)} policies x fixture objects vs "
          f"opa eval --strict-builtin-errors ({opa})")  # fmt: skip
    for name, (agree, total) in conformance(opa).items():
        print(f"  total {name:45} {agree}/{total} ({100 * agree / total:.1f}%)")


if __name__ == "__main__":
    main()
