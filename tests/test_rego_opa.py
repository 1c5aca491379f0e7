"""Differential test: kubeward's Rego evaluation against the `opa` binary.

Every policy under tests/rego_conformance (v0 and v1 syntax; startswith, sprintf, regex,
count, some/every, object.get, walk, units.*, glob, json.marshal...) is evaluated by kubeward
and by `opa eval --strict-builtin-errors` on the same input document (kubeward's own, from
`rego.document`) for every object of the rule fixtures plus seeded random workloads; the sets
of messages must be equal. `errors_*` policies fail on some objects: both must fail on the same
ones.

opa is built by `make tools` (tools/build-go-tools.sh; KUBEWARD_OPA); without it the test is
skipped, and fails in CI.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.model import K8sObject
from kubeward.model.objects import UNLOCATED
from kubeward.policies.rego import (
    RegoEvaluationError,
    RegoModule,
    RegoProgram,
    compile_program,
    document,
    evaluate,
    messages,
)
from tests.conftest import require_tool

HERE = Path(__file__).parent
POLICIES = sorted((HERE / "rego_conformance").glob("*.rego"))
FIXTURES = HERE / "rules" / "fixtures"
PARAMETERS = {"repos": ["registry.corp.example/", "ghcr.io/acme/"]}


def opa_binary() -> str:
    """The oracle, built by `make tools` (skipped outside CI when it is missing)."""
    require_tool("opa")
    found = os.environ.get("KUBEWARD_OPA") or shutil.which("opa")
    assert found is not None
    return found


def fixture_objects() -> list[dict[str, Any]]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
                found.append(doc)
    return found


def seeded_objects(count: int, seed: int = 20261127) -> list[dict[str, Any]]:
    """Workloads and Services with the fields the conformance policies read, drawn at random."""
    rng = random.Random(seed)
    images = ["nginx", "nginx:1.27", "registry.example/web:1", "registry.corp.example/api@sha256:"
              + "b" * 64, "ghcr.io/acme/tool:latest", "docker.io/library/redis", "quay.io/x/y:2"]  # fmt: skip
    words = ["web", "api", "shop", "eu", "prod", "Data", "x-1", "Team_A"]

    def container(index: int) -> dict[str, Any]:
        c: dict[str, Any] = {"name": f"c{index}", "image": rng.choice(images)}
        if rng.random() < 0.6:
            c["securityContext"] = {
                "privileged": rng.choice([True, False]),
                "runAsUser": rng.choice([0, 999, 1000, 10001]),
                "capabilities": {"add": rng.sample(["NET_ADMIN", "sys_admin", "CHOWN"], k=rng.randint(0, 2))},
            }  # fmt: skip
        if rng.random() < 0.7:
            c["resources"] = {"limits": {
                "memory": rng.choice(["128Mi", "2Gi", "1G", "512M", "4096Ki"]),
                "cpu": rng.choice(["500m", "1", "3", "2500m"]),
            }}  # fmt: skip
        if rng.random() < 0.4:
            c["env"] = [{"name": rng.choice(["DB_PASSWORD", "LOG_LEVEL"]), "value": rng.choice(["", "abc", "hunter22"])}]  # fmt: skip
        if rng.random() < 0.5:
            c["ports"] = [{"containerPort": 8080 + i} for i in range(rng.randint(1, 3))]
        return c

    objects: list[dict[str, Any]] = []
    for index in range(count):
        kind = rng.choice(["Pod", "Deployment", "CronJob", "Service", "StatefulSet"])
        name = "-".join(rng.sample(words, k=rng.randint(1, 5))).lower()
        meta: dict[str, Any] = {"name": f"{name}-{index}"}
        if rng.random() < 0.8:
            meta["namespace"] = rng.choice(["shop", "prod", "default"])
        if rng.random() < 0.7:
            meta["labels"] = {k: rng.choice(words) for k in rng.sample(["team", "app", "app.kubernetes.io/name", "tier", "Owner"], k=rng.randint(1, 4))}  # fmt: skip
        if rng.random() < 0.3:
            meta["annotations"] = {rng.choice(["prometheus.io/scrape", "sidecar.istio.io/inject", "app.kubernetes.io/note"]): "latest"}  # fmt: skip
        containers = [container(i) for i in range(rng.randint(1, 3))]
        spec: dict[str, Any] = {"containers": containers}
        if rng.random() < 0.3:
            spec["initContainers"] = [container(9)]
        if rng.random() < 0.2:
            spec["hostNetwork"] = True
        if kind == "Pod":
            body: dict[str, Any] = {"apiVersion": "v1", "spec": spec}
        elif kind == "CronJob":
            body = {"apiVersion": "batch/v1",
                    "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}  # fmt: skip
        elif kind == "Service":
            body = {"apiVersion": "v1", "spec": {"ports": [{"port": rng.choice([80, 443, 8080])}]}}
        else:
            body = {"apiVersion": "apps/v1", "spec": {"template": {"spec": spec}}}
            if rng.random() < 0.7:
                body["spec"]["replicas"] = rng.randint(0, 4)
        objects.append({"kind": kind, "metadata": meta, **body})
    return objects


OBJECTS = fixture_objects() + seeded_objects(250)
ERROR_OBJECTS = [*fixture_objects()[:12], {"apiVersion": "v1", "kind": "Pod", "metadata": {}},
                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}]  # fmt: skip


def inputs(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    documents = []
    for index, raw in enumerate(objects):
        # some as admission requests: an UPDATE by an intern, an anonymous CREATE
        admission: dict[str, Any] | None = None
        if index % 7 == 3:
            old = {**raw, "spec": {**(raw.get("spec") or {}), "selector": {"app": "old"}}}
            admission = {"uid": f"u-{index}", "operation": "UPDATE", "name": "n",
                         "namespace": "prod", "kind": {"group": "", "version": "v1", "kind": raw["kind"]},
                         "userInfo": {"username": "bob", "groups": ["interns"]}, "oldObject": old}  # fmt: skip
        elif index % 7 == 5:
            admission = {"operation": "CREATE", "name": "anon", "kind": {"kind": raw["kind"]},
                         "userInfo": {"username": "system:anonymous"}, "oldObject": None}  # fmt: skip
        obj = K8sObject(raw, UNLOCATED, admission=admission and {**admission, "object": raw})
        documents.append(document(obj, PARAMETERS))
    return documents


def compiled(path: Path) -> RegoProgram:
    return compile_program([RegoModule(str(path), 1, path.read_text())])


def opa_messages(
    opa: str, program: RegoProgram, path: Path, cases: list[dict[str, Any]], tmp: Path
) -> list[list[str] | None]:
    """Messages per case from `opa eval` (None: opa failed on that case), one opa run per rule
    for all cases at once (each case `with input as` itself)."""
    data = tmp / "cases.json"
    data.write_text(json.dumps({"kubeward_cases": cases}))
    found: list[list[str]] = [[] for _ in cases]
    for rule in program.rules:
        query = (f"x := {{i: v | c := data.kubeward_cases[i]; "
                 f"v := data.{program.package}.{rule} with input as c}}")  # fmt: skip
        args = [opa, "eval", "--strict-builtin-errors", "-f", "json", "-d", str(path),
                "-d", str(data), query]  # fmt: skip
        if program.version == "v0":
            args.append("--v0-compatible")
        run = subprocess.run(args, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
        values = json.loads(run.stdout)["result"][0]["bindings"]["x"]
        for key, value in values.items():
            found[int(key)] += messages({rule: value}, "(true)")
    return [sorted(set(m)) for m in found]


def opa_one(opa: str, program: RegoProgram, path: Path, case: dict[str, Any], tmp: Path) -> str:
    """'error' or the sorted messages of one case, from opa."""
    (tmp / "input.json").write_text(json.dumps(case))
    found: list[str] = []
    for rule in program.rules:
        args = [opa, "eval", "--strict-builtin-errors", "-f", "json", "-d", str(path),
                "-i", str(tmp / "input.json"), f"data.{program.package}.{rule}"]  # fmt: skip
        if program.version == "v0":
            args.append("--v0-compatible")
        run = subprocess.run(args, capture_output=True, text=True, check=False)
        if run.returncode != 0:
            return "error"
        result = json.loads(run.stdout).get("result") or []
        if result:
            found += messages({rule: result[0]["expressions"][0]["value"]}, "(true)")
    return json.dumps(sorted(set(found)))


@pytest.mark.parametrize("path", [p for p in POLICIES if not p.name.startswith("errors_")],
                         ids=lambda p: p.stem)  # fmt: skip
def test_same_messages_as_opa(path: Path, tmp_path: Path) -> None:
    opa = opa_binary()
    program = compiled(path)
    assert program.version == ("v0" if "_v0" in path.name else "v1")
    cases = inputs(OBJECTS)
    expected = opa_messages(opa, program, path, cases, tmp_path)
    differences = []
    fired = 0
    for index, case in enumerate(cases):
        got = messages(evaluate(program, case), "(true)")
        fired += bool(got)
        if got != expected[index]:
            differences.append((index, OBJECTS[index].get("metadata"), expected[index], got))
    assert not differences, differences[:3]
    assert fired, "the policy never fires: the comparison would prove little"


@pytest.mark.parametrize("path", [p for p in POLICIES if p.name.startswith("errors_")],
                         ids=lambda p: p.stem)  # fmt: skip
def test_same_failures_as_opa(path: Path, tmp_path: Path) -> None:
    opa = opa_binary()
    program = compiled(path)
    outcomes = []
    for case in inputs(ERROR_OBJECTS):
        try:
            got = json.dumps(messages(evaluate(program, case), "(true)"))
        except RegoEvaluationError:
            got = "error"
        outcomes.append((got, opa_one(opa, program, path, case, tmp_path)))
    assert all(ours == theirs for ours, theirs in outcomes), outcomes
    assert any(ours == "error" for ours, _ in outcomes)
    assert any(ours != "error" for ours, _ in outcomes)
