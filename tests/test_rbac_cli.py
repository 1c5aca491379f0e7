"""`kubeward rbac` on manifests: the example application plus the bundled default roles."""

from __future__ import annotations

import json
from typing import Any

from tests.cli_helpers import kubeward
from tests.conftest import ROOT

MANIFESTS = ROOT / "examples" / "insecure" / "manifests"


def rbac(*args: str) -> tuple[int, Any]:
    run = kubeward("rbac", *args, "-f", "json", cwd=MANIFESTS)
    assert "Traceback" not in run.stderr
    return run.code, json.loads(run.stdout) if run.stdout.strip() else None


def subjects(answer: dict[str, Any]) -> set[tuple[str, str | None, str]]:
    return {(s["kind"], s["namespace"], s["name"]) for s in answer["subjects"]}


def test_who_can_read_secrets_with_evidence() -> None:
    code, answer = rbac("who-can", "get", "secrets", "-n", "shop")
    assert code == 0
    found = subjects(answer)
    assert ("Group", None, "system:masters") in found  # always, and bypasses RBAC
    assert ("ServiceAccount", "shop", "default") in found  # shop-ci-admin -> cluster-admin
    # a default role (bundled, not in the manifests) grants it too
    assert ("ServiceAccount", "kube-system", "namespace-controller") in found
    (evidence,) = [
        s["evidence"] for s in answer["subjects"]
        if s["name"] == "default" and s["namespace"] == "shop"
    ]  # fmt: skip
    assert evidence["binding"]["name"] == "shop-ci-admin"
    assert evidence["role"] == {"kind": "ClusterRole", "name": "cluster-admin", "namespace": None}


def test_can_and_what_can() -> None:
    assert rbac("can", "sa:shop/default", "delete", "nodes")[0] == 0
    code, answer = rbac("can", "alice", "get", "secrets", "-n", "shop")
    assert code == 1
    assert answer["allowed"] is False
    code, answer = rbac("what-can", "sa:shop/default")
    assert code == 0
    assert answer["scopes"]["(cluster-wide)"]


def test_namespace_view_and_presets() -> None:
    code, view = rbac("namespace", "shop")
    assert code == 0
    assert {g["binding"]["name"] for g in view["grants"]} >= {"shop-ci-admin"}
    code, secrets = rbac("secrets")
    assert code == 0
    assert {a["request"] for a in secrets} >= {
        "list secrets cluster-wide",
        "watch secrets in namespace shop",
    }
    code, execs = rbac("exec")
    assert code == 0
    assert any(a["request"] == "get nodes/proxy cluster-wide" for a in execs)


def test_bad_questions_are_usage_errors() -> None:
    run = kubeward("rbac", "can", "sa:oops", "get", "pods", cwd=MANIFESTS)
    assert run.code == 2
    assert "sa:NAMESPACE/NAME" in run.stderr
    run = kubeward("rbac", "who-can", "get", "", cwd=MANIFESTS)
    assert run.code == 2
