"""Benchmark: image signature verification per admission, warm cache and cold, side by side
with `cosign verify`.

    python bench/signature_bench.py                 # 300 warm and 60 cold admissions per case

A real registry (Debian's docker-registry on 127.0.0.1, as in the tests), images pushed with
crane and signed with cosign (simple signing and Sigstore bundle). What is timed is the
webhook's work for one AdmissionReview of a Pod with one container (`/verify-images`:
parse, verify, judge with rule I007, answer), in-process:

* warm: the verdict for the digest is cached (the steady state: the same images are admitted
  again and again, e.g. every replica and every rollout);
* cold: the cache is emptied before each admission, so the registry is asked for the .sig tag,
  its payload blob, the referrers API (404 on distribution 2.8), the referrers tag, the bundle
  manifest and blob, and the signatures are checked.

`cosign verify --key` (offline: --insecure-ignore-tlog) on the same images is timed per
invocation, process start included, as users run it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests import registry  # noqa: E402
from tests.registry import Signing  # noqa: E402

from kubeward.admission.review import parse, response  # noqa: E402
from kubeward.admission.signatures import SignatureReviewer  # noqa: E402
from kubeward.engine import EngineSettings  # noqa: E402
from kubeward.model.enforcement import AdmissionSettings  # noqa: E402
from kubeward.signatures.cosign import load_public_key  # noqa: E402
from kubeward.signatures.policy import SignaturePolicy, SignatureRule  # noqa: E402
from kubeward.signatures.registry import RegistryClient  # noqa: E402
from kubeward.signatures.verifier import ImageVerifier  # noqa: E402

TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubeward/tools/bin"


def review(image: str, uid: int) -> bytes:
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{uid}", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }  # fmt: skip
    gvk = {"group": "", "version": "v1", "kind": "Pod"}
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": str(uid), "kind": gvk, "resource": {**gvk, "resource": "pods"},
                    "namespace": "shop", "operation": "CREATE",
                    "userInfo": {"username": "deployer", "groups": ["system:authenticated"]},
                    "object": pod, "dryRun": False},
    }).encode()  # fmt: skip


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def admit(reviewer: SignatureReviewer, body: bytes, expect_allowed: bool) -> float:
    started = time.perf_counter()
    request = parse(body)
    verdict = reviewer.decide(request)
    response(request, verdict)
    elapsed = time.perf_counter() - started
    if verdict.allowed is not expect_allowed:
        raise SystemExit(f"unexpected verdict for {request.object}: {verdict}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--cold", type=int, default=60)
    parser.add_argument("--cosign-runs", type=int, default=10)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="kubeward-signature-bench-"))
    with registry.running(directory / "registry") as address:
        signing = Signing(address, directory, str(TOOLS / "crane"), str(TOOLS / "cosign"))
        private, public = signing.key_pair("bench")
        images = {}
        for case in ("simple-signing", "bundle", "unsigned"):
            digest = signing.push(f"shop/{case}", "1.0")
            images[case] = f"{address}/shop/{case}@{digest}"
            if case != "unsigned":
                signing.sign(images[case], private, bundle=case == "bundle")
        key = load_public_key(public.read_bytes(), "bench.pub")
        policy = SignaturePolicy(
            rules=(SignatureRule("bench", (f"{address}/**",), (key,)),),
            plain_http=frozenset({address}),
        )
        client = RegistryClient(timeout=5, insecure=policy.plain_http)
        verifier = ImageVerifier(policy, client)
        reviewer = SignatureReviewer(verifier, EngineSettings(), AdmissionSettings())
        results: dict[str, Any] = {}
        for case, image in images.items():
            allowed = case != "unsigned"
            body = review(image, 0)
            admit(reviewer, body, allowed)  # connections up, cache filled
            warm = [admit(reviewer, review(image, i), allowed) for i in range(args.warm)]
            cold = []
            for i in range(args.cold):
                verifier._cache.clear()
                cold.append(admit(reviewer, review(image, i), allowed))
            results[case] = {"warm": summary(warm), "cold": summary(cold)}
            print(f"{case:15} warm {results[case]['warm']}  cold {results[case]['cold']}")
        client.close()
        cosign = []
        for _ in range(args.cosign_runs):
            started = time.perf_counter()
            done = subprocess.run(
                [str(TOOLS / "cosign"), "verify", "--key", str(public), "--insecure-ignore-tlog",
                 "--allow-insecure-registry", images["bundle"]],
                capture_output=True, check=False,
            )  # fmt: skip
            cosign.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"cosign verify failed: {done.stderr.decode()[-500:]}")
        results["cosign_verify_bundle_per_process"] = summary(cosign)
        print(f"cosign verify (bundle, per process) {results['cosign_verify_bundle_per_process']}")
    record = {
        "command": "python bench/signature_bench.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "results": results,
    }
    out = HERE / "results" / "signatures.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
