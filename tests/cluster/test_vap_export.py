"""`kubeward admission export-vap` against the API server: the exported policies must decide
like kubeward's rules, object by object.

The policies are installed with ``validationActions: [Warn]`` (so one request shows every
policy's verdict), then the rule fixtures and seeded random workloads of every built-in kind
are created with server-side dry run: the set of policies that warn must equal the set of
exported rules with findings in kubeward's own evaluation of the same object.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import yaml

from kubeward.admission.vap import TRANSLATIONS, export
from kubeward.engine import EngineSettings, evaluate
from kubeward.model import Inventory, K8sObject
from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.rules import REGISTRY
from kubeward.sources.manifests import DocumentOrigin, FixedLocator
from tests.testcluster import TestCluster

NAMESPACE = "vap-test"
FIXTURES = Path(__file__).parent.parent / "rules" / "fixtures"
RULES = [REGISTRY[rule_id] for rule_id in sorted(TRANSLATIONS)]
WARNING = re.compile(r"ValidatingAdmissionPolicy 'kubeward-([a-z]\d{3})-")
COLLECTIONS = {
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "PodTemplate": "/api/v1/namespaces/{ns}/podtemplates",
    "ReplicationController": "/api/v1/namespaces/{ns}/replicationcontrollers",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs",
}
API_VERSIONS = {"Pod": "v1", "PodTemplate": "v1", "ReplicationController": "v1", "Job": "batch/v1",
                "CronJob": "batch/v1"}  # fmt: skip


def kubeward_verdict(obj: dict[str, Any]) -> set[str]:
    item = K8sObject(json.loads(json.dumps(obj)), DocumentOrigin(None, None, FixedLocator(None)))
    return {f.rule_id for f in evaluate(Inventory([item]), RULES, EngineSettings()).findings}


def api_server_verdict(api: Any, obj: dict[str, Any]) -> set[str] | str:
    """The rules whose policies warned, or the API server's refusal (a string)."""
    path = COLLECTIONS[obj["kind"]].format(ns=NAMESPACE)
    reply = api.post(path, json=obj, params={"dryRun": "All"})
    if reply.status_code != 201:
        return f"{reply.status_code}: {reply.json().get('message', reply.text)[:300]}"
    return {m.group(1).upper() for w in reply.headers.get_list("warning") for m in
            WARNING.finditer(w)}  # fmt: skip


SECCOMP = [{"type": "RuntimeDefault"}, {"type": "Unconfined"},
           {"type": "Localhost", "localhostProfile": "profiles/audit.json"}]  # fmt: skip
CAPABILITIES = [{"drop": ["ALL"]}, {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                {"drop": ["ALL"], "add": ["CHOWN"]}, {"drop": ["NET_RAW"]}, {"add": ["KILL"]},
                {"drop": ["all"]}]  # fmt: skip


def security_context(rng: random.Random) -> dict[str, Any]:
    context: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.2:
        context["privileged"] = True
    elif roll < 0.35:
        context["privileged"] = False
    if rng.random() < 0.3:
        context["seccompProfile"] = rng.choice(SECCOMP)
    if rng.random() < 0.5 and not context.get("privileged"):
        context["allowPrivilegeEscalation"] = rng.random() < 0.3
    if rng.random() < 0.4:
        context["capabilities"] = rng.choice(CAPABILITIES)
    if rng.random() < 0.1:
        context["runAsNonRoot"] = True
    return context


def container(rng: random.Random, name: str, host_network: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "image": "registry.example/app:1"}
    if rng.random() < 0.7:
        item["securityContext"] = security_context(rng)
    roll = rng.random()
    if roll < 0.3:
        port = rng.choice([8080, 9090])
        item["ports"] = [{"containerPort": port, "hostPort": port}]
    elif roll < 0.5:
        item["ports"] = [{"containerPort": 8080}]
    elif roll < 0.6 and not host_network:
        item["ports"] = [{"containerPort": 8080, "hostPort": 0}]
    return item


def pod_spec(rng: random.Random, restart: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for flag in ("hostPID", "hostIPC", "hostNetwork", "shareProcessNamespace"):
        roll = rng.random()
        if roll < 0.2:
            spec[flag] = True
        elif roll < 0.35:
            spec[flag] = False
    if spec.get("hostPID") and spec.get("shareProcessNamespace"):
        del spec["shareProcessNamespace"]  # the API server refuses both
    host_network = spec.get("hostNetwork") is True
    spec["containers"] = [container(rng, f"c{i}", host_network) for i in range(rng.randint(1, 2))]
    if host_network:  # one owner per node port
        seen: set[int] = set()
        for item in spec["containers"]:
            item["ports"] = [p for p in item.get("ports", []) if p["containerPort"] not in seen]
            seen.update(p["containerPort"] for p in item["ports"])
    if rng.random() < 0.3:
        spec["initContainers"] = [container(rng, "init", host_network=True)]
        spec["initContainers"][0].pop("ports", None)
    roll = rng.random()
    if roll < 0.25:
        spec["volumes"] = [{"name": "logs", "hostPath": {"path": "/var/log"}}]
    elif roll < 0.4:
        spec["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    if rng.random() < 0.3:
        spec["securityContext"] = {"seccompProfile": rng.choice(SECCOMP)}
    if rng.random() < 0.05:
        spec["os"] = {"name": "windows"}
        for item in spec["containers"] + spec.get("initContainers", []):
            item.pop("securityContext", None)  # most Linux settings are refused for Windows
        spec.pop("securityContext", None)
        for flag in ("hostPID", "hostIPC", "shareProcessNamespace"):
            spec.pop(flag, None)
    account = rng.choice(["none", "default", "web", "old-web", "old-default", "empty"])
    if account in ("default", "web"):
        spec["serviceAccountName"] = account
    elif account.startswith("old-"):
        spec["serviceAccount"] = account[4:]
    elif account == "empty":
        spec["serviceAccountName"] = ""
    if restart:
        spec["restartPolicy"] = restart
    return spec


def workload(rng: random.Random, index: int) -> dict[str, Any]:
    kind = rng.choice(sorted(COLLECTIONS))
    labels = {"app": f"w{index}"}
    restart = "Never" if kind in ("Job", "CronJob") else None
    spec = pod_spec(rng, restart)
    template = {"metadata": {"labels": labels}, "spec": spec}
    meta = {"name": f"w{index}", "namespace": NAMESPACE}
    api_version = API_VERSIONS.get(kind, "apps/v1")
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "template": template}
    if kind == "CronJob":
        job = {"template": template}
        return {"apiVersion": api_version, "kind": kind, "metadata": meta,
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job}}}  # fmt: skip
    body: dict[str, Any] = {"template": template}
    if kind not in {"Job", "ReplicationController"}:
        body["selector"] = {"matchLabels": labels}
    if kind == "ReplicationController":
        body["selector"] = labels
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": body}


def _probe(flags: dict[str, Any]) -> dict[str, Any]:
    bad = {"privileged": True, "seccompProfile": {"type": "Unconfined"}}
    spec = {**flags, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "image": "x", "securityContext": bad,
                            "ports": [{"containerPort": 80, "hostPort": 80}]}]}  # fmt: skip
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "probe", "namespace": NAMESPACE}, "spec": spec}  # fmt: skip


def fixture_objects() -> list[dict[str, Any]]:
    found = []
    for rule_id in sorted(TRANSLATIONS):
        for path in sorted((FIXTURES / rule_id).glob("*.yaml")):
            if path.name == "kubeward.yaml":
                continue
            for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
                if isinstance(doc, dict) and doc.get("kind") in COLLECTIONS:
                    doc["metadata"] = {**doc.get("metadata", {}), "namespace": NAMESPACE,
                                       "name": f"f-{rule_id.lower()}-{path.stem}-{index}"}  # fmt: skip
                    found.append(doc)
    return found


def test_exported_policies_decide_like_the_rules(cluster: TestCluster) -> None:
    objects, _ = export(RULES, AdmissionSettings(exempt_namespaces=()), action=Action.WARN)
    assert len(objects) == 2 * len(TRANSLATIONS)
    accounts = ["web", "old", "runner", "build-bot", "deployer", "app", "api"]
    cluster.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
        + [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": n, "namespace": NAMESPACE},
            }
            for n in accounts
        ]
        + objects
    )
    rng = random.Random(20261127)
    corpus = fixture_objects() + [workload(rng, i) for i in range(400)]
    with cluster.client() as api:
        # policies become active a moment after they are created: wait until two probes
        # that break every exported rule between them get kubeward's verdicts
        probes = [_probe({"hostPID": True, "hostIPC": True, "hostNetwork": True}),
                  _probe({"shareProcessNamespace": True})]  # fmt: skip
        deadline = time.monotonic() + 60
        while any(api_server_verdict(api, p) != kubeward_verdict(p) for p in probes):
            assert time.monotonic() < deadline, "the policies did not become active"
            time.sleep(0.5)
        compared, refused, mismatches = 0, [], []
        fired: dict[str, int] = dict.fromkeys(TRANSLATIONS, 0)
        for obj in corpus:
            verdict = api_server_verdict(api, obj)
            if isinstance(verdict, str):
                refused.append((obj["metadata"]["name"], verdict))
                assert "ValidatingAdmissionPolicy" not in verdict, verdict  # a policy error
                continue
            compared += 1
            expected = kubeward_verdict(obj)
            for rule_id in expected:
                fired[rule_id] += 1
            if verdict != expected:
                mismatches.append((obj, sorted(expected), sorted(verdict)))
    assert compared >= 300, (compared, refused[:5])
    # every policy was seen both failing and passing, or the comparison would prove little
    assert all(5 <= n <= compared - 5 for n in fired.values()), fired
    assert not mismatches, "\n\n".join(
        f"kubeward {k}, API server {a}:\n{yaml.safe_dump(o)}" for o, k, a in mismatches[:3]
    )
