"""Benchmark: `kubeward admission serve` under a constant request rate, over TLS.

    python bench/admission_bench.py                      # 1,000 req/s for 60 s, then the ramp
    python bench/admission_bench.py --rate 1000 --duration 60 --no-ramp
    python bench/admission_bench.py --no-ramp --policies bench/rego/workload.yaml   # + a policy

One server process (uvicorn, one worker) with the whole object-scope catalog, TLS with a
freshly generated CA and serving certificate, on 127.0.0.1. The load comes from vegeta
(built from the Go module proxy by bench/peers/build.sh), at a constant rate with keep-alive
connections as the API server keeps them, over a mix of AdmissionReviews: a compliant Pod, a
Deployment with several findings (denied) and a ConfigMap. Load generator and server share the
machine's cores. Then the ramp: 10 s steps of increasing rate, to find the highest rate whose
p99 stays within 10 ms with no errors. ``--policies`` adds users' policies to the catalog (as
``admission serve --policies``), to measure what they cost.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
CONFIG = "trustedRegistries: [registry.corp.example]\n"
IMAGE = "registry.corp.example/shop/api@sha256:" + "a" * 64
SECURE = {
    "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
    "runAsNonRoot": True, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}  # fmt: skip


def container(name: str, image: str = IMAGE, **extra: Any) -> dict[str, Any]:
    return {
        "name": name, "image": image, "imagePullPolicy": "Always", "securityContext": SECURE,
        "resources": {"limits": {"cpu": "1", "memory": "256Mi"},
                      "requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
        "ports": [{"containerPort": 8080, "name": "http"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "REGION", "value": "eu-west-1"}],
        **extra,
    }  # fmt: skip


def review(obj: dict[str, Any], uid: str) -> bytes:
    """An AdmissionReview as the API server sends it (request metadata included)."""
    kind = obj["kind"]
    group, _, version = obj["apiVersion"].rpartition("/")
    plural = {"Pod": "pods", "Deployment": "deployments", "ConfigMap": "configmaps"}[kind]
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": plural}
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "name": obj["metadata"]["name"], "namespace": "shop", "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:ci:deployer",
                         "uid": "0f6a1c1e-5c1d-4d1f-9d3b-2f1e2d3c4b5a",
                         "groups": ["system:serviceaccounts", "system:serviceaccounts:ci",
                                    "system:authenticated"]},
            "object": obj, "oldObject": None, "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions",
                        "fieldManager": "kubectl-client-side-apply"},
        },
    }).encode()  # fmt: skip


def bodies() -> dict[str, bytes]:
    labels = {"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "shop",
              "app.kubernetes.io/version": "2.4.1", "team": "payments"}  # fmt: skip
    spec = {"serviceAccountName": "api", "automountServiceAccountToken": False,
            "containers": [container("api"), container("sidecar")],
            "volumes": [{"name": "tmp", "emptyDir": {}}]}  # fmt: skip
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "api-7d9c5b6f4-x2x9k", "namespace": "shop", "labels": labels},
           "spec": spec}  # fmt: skip
    risky = json.loads(json.dumps(spec))
    risky["containers"][1] = container("debug", image="busybox:latest",
                                       securityContext={"privileged": True})  # fmt: skip
    risky["hostNetwork"] = True
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop", "labels": labels},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app.kubernetes.io/name": "api"}},
                 "template": {"metadata": {"labels": labels}, "spec": risky}},
    }  # fmt: skip
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "api-settings", "namespace": "shop", "labels": labels},
                  "data": {"settings.yaml": "cache:\n  ttl: 60\n"}}  # fmt: skip
    return {
        "compliant-pod": review(pod, "6f1f7a4c-0b7e-4c51-9a57-3c9d9f0a0001"),
        "denied-deployment": review(deployment, "6f1f7a4c-0b7e-4c51-9a57-3c9d9f0a0002"),
        "configmap": review(config_map, "6f1f7a4c-0b7e-4c51-9a57-3c9d9f0a0003"),
    }


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward-bench-ca")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward-webhook")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    paths = (directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def attack(vegeta: str, work: Path, rate: int, seconds: int, name: str) -> dict[str, Any]:
    out = work / f"{name}.bin"
    command = [vegeta, "attack", f"-targets={work / 'targets.txt'}", f"-rate={rate}/s",
               f"-duration={seconds}s", f"-root-certs={work / 'ca.crt'}", "-keepalive=true",
               "-max-workers=64", f"-output={out}"]  # fmt: skip
    subprocess.run(command, check=True)
    report = subprocess.run(
        [vegeta, "report", "-type=json", str(out)], check=True, capture_output=True, text=True
    )
    return json.loads(report.stdout)  # type: ignore[no-any-return]


def summary(result: dict[str, Any]) -> dict[str, Any]:
    ms = {k: v / 1e6 for k, v in result["latencies"].items()}
    return {
        "rate": result["rate"], "throughput": result["throughput"],
        "requests": result["requests"], "success": result["success"],
        "codes": result["status_codes"], "p50": ms["50th"], "p90": ms["90th"],
        "p95": ms["95th"], "p99": ms["99th"], "max": ms["max"],
        "errors": result.get("errors") or [],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="kubeward admission webhook latency benchmark")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--no-ramp", action="store_true")
    parser.add_argument("--policies", action="append", default=[], metavar="PATH",
                        help="users' policy files or directories to serve as well")  # fmt: skip
    args = parser.parse_args()
    vegeta = subprocess.run([str(HERE / "peers" / "build.sh"), "vegeta"], check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="kubeward-admission-bench-"))
    server = None
    try:
        ca, cert, key = certificates(work)
        (work / "kubeward.yaml").write_text(CONFIG)
        port = free_port()
        url = f"https://127.0.0.1:{port}/validate"
        lines = []
        for name, body in bodies().items():
            (work / f"{name}.json").write_bytes(body)
            lines += [f"POST {url}", "Content-Type: application/json", f"@{work / name}.json", ""]
        targets = work / "targets.txt"
        targets.write_text("\n".join(lines))
        kubeward = str(Path(sys.executable).parent / "kubeward")
        server = subprocess.Popen(
            [kubeward, "admission", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--tls-cert", str(cert), "--tls-key", str(key),
             "--config", str(work / "kubeward.yaml"), "--log-level", "warning",
             *(f"--policies={Path(p).resolve()}" for p in args.policies)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import ssl

        trust = ssl.create_default_context(cafile=str(ca))
        for _ in range(200):
            try:
                httpx.get(f"https://127.0.0.1:{port}/readyz", verify=trust)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        sizes = {name: len(body) for name, body in bodies().items()}
        attack(vegeta, work, 500, 5, "warmup")
        main_run = summary(attack(vegeta, work, args.rate, args.duration, "main"))
        ramp = []
        if not args.no_ramp:
            for rate in range(1000, 5001, 250):
                step = summary(attack(vegeta, work, rate, 10, f"ramp-{rate}"))
                ramp.append(step)
                if step["p99"] > 10 or step["success"] < 1:
                    break
        date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        print(f"date: {date}\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}")  # fmt: skip
        if args.policies:
            print(f"users' policies: {', '.join(args.policies)}")
        print(f"bodies (bytes): {sizes}")
        row = main_run
        print(
            f"constant {args.rate}/s for {args.duration}s: {row['requests']} requests, success "
            f"{row['success']:.4f}, codes {row['codes']}, p50 {row['p50']:.2f} ms, p90 "
            f"{row['p90']:.2f} ms, p99 {row['p99']:.2f} ms, max {row['max']:.2f} ms"
        )
        best = 0.0
        for step in ramp:
            ok = step["p99"] <= 10 and step["success"] == 1
            best = max(best, step["throughput"]) if ok else best
            print(
                f"ramp {step['rate']:.0f}/s: throughput {step['throughput']:.0f}/s, p99 "
                f"{step['p99']:.2f} ms, max {step['max']:.2f} ms, success {step['success']:.4f}"
                f"{'' if ok else '  <- over'}"
            )
        if ramp:
            print(f"highest sustained rate with p99 <= 10 ms and no errors: {best:.0f}/s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
