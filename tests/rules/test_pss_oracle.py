"""The Pod Security Standards rules agree with Kubernetes' own implementation.

``tools/psa-oracle`` wraps ``k8s.io/pod-security-admission/policy`` (the library the API
server's PodSecurity admission plugin runs) and reports, check by check, which Pod Security
checks a pod fails at Kubernetes 1.35. A seeded generator writes thousands of pods that vary
every field those checks read; for each check, the pod fails it exactly when kubeward reports
one of the rules mapped to it below.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubeward.engine import evaluate
from kubeward.model import Inventory, K8sObject
from kubeward.rules import REGISTRY
from kubeward.sources.manifests import DocumentOrigin, FixedLocator

PODS = 3000

# PSA check → the kubeward rules whose findings together mean "this check fails".
CHECKS: dict[str, tuple[str, ...]] = {
    "hostNamespaces": ("W002", "W003", "W004"),
    "privileged": ("W001",),
    "capabilities_baseline": ("W007", "W029"),
    "hostPathVolumes": ("W005",),
    "hostPorts": ("W008",),
    "appArmorProfile": ("W009",),
    "seLinuxOptions": ("W010",),
    "procMount": ("W011",),
    "procMount_restricted": ("W011",),
    "seccompProfile_baseline": ("W012",),
    "sysctls": ("W013",),
    "windowsHostProcess": ("W014",),
    "hostProbesAndHostLifecycle": ("W031",),
    "restrictedVolumes": ("W020", "W005"),
    "allowPrivilegeEscalation": ("W015",),
    "runAsNonRoot": ("W016",),
    "runAsUser": ("W017",),
    "seccompProfile_restricted": ("W018", "W012"),
    "capabilities_restricted": ("W019", "W007", "W029"),
}

CAPS = [
    "CHOWN",
    "NET_BIND_SERVICE",
    "SYS_ADMIN",
    "NET_RAW",
    "ALL",
    "CAP_CHOWN",
    "chown",
    "KILL",
    "SYS_TIME",
    "cap_sys_ptrace",
]
SYSCTLS = [
    "kernel.shm_rmid_forced",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "kernel.msgmax",
    "net.core.somaxconn",
]
VOLUMES: list[dict[str, Any]] = [
    {"emptyDir": {}}, {"configMap": {"name": "c"}}, {"secret": {"secretName": "s"}},
    {"hostPath": {"path": "/var/log"}}, {"nfs": {"server": "n", "path": "/"}},
    {"persistentVolumeClaim": {"claimName": "p"}}, {"image": {"reference": "r/x:1"}},
    {"gitRepo": {"repository": "https://x"}}, {"csi": {"driver": "d"}}, {"projected": {"sources": []}},
]  # fmt: skip


def maybe(rng: random.Random, *values: Any) -> Any:
    return rng.choice((None, *values))


def security_context(rng: random.Random, *, container: bool) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "runAsNonRoot": maybe(rng, True, False),
        "runAsUser": maybe(rng, 0, 1000),
        "runAsGroup": maybe(rng, 0, 1000),
        "seccompProfile": maybe(
            rng,
            {"type": "RuntimeDefault"},
            {"type": "Unconfined"},
            {"type": "Localhost", "localhostProfile": "p.json"},
        ),
        "appArmorProfile": maybe(
            rng,
            {"type": "RuntimeDefault"},
            {"type": "Unconfined"},
            {"type": "Localhost", "localhostProfile": "p"},
        ),
        "seLinuxOptions": maybe(
            rng,
            {"type": "spc_t"},
            {"type": "container_t"},
            {"user": "u"},
            {"level": "s0:c1"},
            {"type": "container_engine_t"},
        ),
        "windowsOptions": maybe(rng, {"hostProcess": True}, {"hostProcess": False}),
    }
    if container:
        ctx.update(
            privileged=maybe(rng, True, False),
            allowPrivilegeEscalation=maybe(rng, True, False),
            procMount=maybe(rng, "Default", "Unmasked"),
            capabilities=maybe(
                rng,
                {
                    "drop": rng.sample(["ALL", "NET_RAW", "all"], rng.randint(0, 2)),
                    "add": rng.sample(CAPS, rng.randint(0, 2)),
                },
            ),
        )
    else:
        ctx.update(
            fsGroup=maybe(rng, 0, 1000),
            sysctls=maybe(
                rng, [{"name": n, "value": "1"} for n in rng.sample(SYSCTLS, rng.randint(1, 2))]
            ),
        )
    return {k: v for k, v in ctx.items() if v is not None and rng.random() < 0.6}


def container(rng: random.Random, name: str, *, ephemeral: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": "busybox"}
    if rng.random() < 0.8:
        spec["securityContext"] = security_context(rng, container=True)
    if not ephemeral and rng.random() < 0.3:
        spec["ports"] = [{"containerPort": 80, "hostPort": rng.choice([0, 8080])}]
    if not ephemeral and rng.random() < 0.3:
        spec["livenessProbe"] = {
            "httpGet": {
                "port": 80,
                "path": "/",
                **({"host": "10.0.0.1"} if rng.random() < 0.5 else {}),
            }
        }
    if not ephemeral and rng.random() < 0.1:
        spec["lifecycle"] = {"preStop": {"tcpSocket": {"port": 80, "host": "h"}}}
    return spec


def random_pod(rng: random.Random, index: int) -> dict[str, Any]:
    names = [f"c{i}" for i in range(rng.randint(1, 3))]
    spec: dict[str, Any] = {"containers": [container(rng, n) for n in names]}
    if rng.random() < 0.3:
        spec["initContainers"] = [container(rng, "init")]
    if rng.random() < 0.15:
        spec["ephemeralContainers"] = [container(rng, "debug", ephemeral=True)]
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if rng.random() < 0.1:
            spec[field] = rng.choice([True, False])
    if rng.random() < 0.2:
        spec["hostUsers"] = rng.choice([True, False])
    if rng.random() < 0.15:
        spec["os"] = {"name": rng.choice(["linux", "windows"])}
    if rng.random() < 0.8:
        spec["securityContext"] = security_context(rng, container=False)
    if rng.random() < 0.5:
        spec["volumes"] = [
            {"name": f"v{i}", **v} for i, v in enumerate(rng.sample(VOLUMES, rng.randint(1, 3)))
        ]
    metadata: dict[str, Any] = {"name": f"pod-{index}", "namespace": "shop"}
    if rng.random() < 0.15:
        metadata["annotations"] = {
            f"container.apparmor.security.beta.kubernetes.io/{rng.choice(names)}": rng.choice(
                ["unconfined", "runtime/default", "localhost/p", ""]
            )
        }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def as_defaulted(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod as the API server stores it, where that matters to PSA: on a host-network pod,
    a port without hostPort gets hostPort = containerPort (SetDefaults_PodSpec)."""
    pod = json.loads(json.dumps(pod))
    if pod["spec"].get("hostNetwork") is True:
        for name in ("containers", "initContainers"):
            for container in pod["spec"].get(name) or []:
                for port in container.get("ports") or []:
                    if not port.get("hostPort") and isinstance(port.get("containerPort"), int):
                        port["hostPort"] = port["containerPort"]
    return pod


def oracle_binary() -> str:
    configured = os.environ.get("KUBEWARD_PSA_ORACLE", "")
    default = Path.home() / ".cache" / "kubeward" / "tools" / "bin" / "psa-oracle"
    for candidate in (configured, str(default)):
        if candidate and Path(candidate).exists():
            return candidate
    message = "the PSA oracle is not built (run `make tools`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_pod_security_rules_match_the_admission_library() -> None:
    binary = oracle_binary()
    rng = random.Random(20261127)
    pods = [random_pod(rng, i) for i in range(PODS)]
    stdin = "\n".join(
        json.dumps({"id": p["metadata"]["name"], "pod": as_defaulted(p)}) for p in pods
    )
    done = subprocess.run(
        [binary, "-version", "v1.35"],
        input=stdin.encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    verdicts = {row["id"]: set(row["failed"]) for row in map(json.loads, done.stdout.splitlines())}
    assert len(verdicts) == PODS

    rule_ids = sorted({r for rules in CHECKS.values() for r in rules})
    objects = [K8sObject(p, DocumentOrigin(None, None, FixedLocator(None))) for p in pods]
    result = evaluate(Inventory(objects), [REGISTRY[r] for r in rule_ids])
    assert not result.errors
    fired: dict[str, set[str]] = {p["metadata"]["name"]: set() for p in pods}
    for finding in result.findings:
        fired[finding.object.name].add(finding.rule_id)

    mismatches = []
    exercised = dict.fromkeys(CHECKS, 0)
    for pod in pods:
        name = pod["metadata"]["name"]
        windows = pod["spec"].get("os", {}).get("name") == "windows"
        userns = pod["spec"].get("hostUsers") is False
        for check, rules in CHECKS.items():
            psa_fails = check in verdicts[name]
            relevant = set(rules)
            if windows and check in ("capabilities_restricted", "seccompProfile_restricted"):
                # PSA exempts Windows pods from these restricted checks, not from their
                # baseline counterparts (which W007/W029 and W012 implement).
                relevant = {
                    "capabilities_restricted": {"W019"},
                    "seccompProfile_restricted": {"W018"},
                }[check]
            if check == "procMount" and userns:
                continue  # W011 deliberately also flags user-namespaced pods (restricted forbids it)
            ours = bool(fired[name] & relevant)
            exercised[check] += psa_fails
            if psa_fails != ours:
                mismatches.append((name, check, psa_fails, sorted(fired[name] & relevant), pod))
    summary: dict[str, int] = {}
    for _, check, *_rest in mismatches:
        summary[check] = summary.get(check, 0) + 1
    assert not mismatches, f"{summary}\n" + json.dumps(mismatches[:2], indent=1)
    assert all(exercised.values()), f"checks never failing in the sample: {exercised}"
