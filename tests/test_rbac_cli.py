"""`kubeward rbac` on manifests: the example application plus the bundled default roles."""

from __future__ import annotations

import json
from pathlib import Path
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


def test_an_answer_over_unreadable_input_exits_2(tmp_path: Path) -> None:
    """ "no" over a file that could not be read is no real denial: exit code 2."""
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: [\n")
    for args in (("can", "alice", "get", "pods"), ("who-can", "get", "pods")):
        run = kubeward("rbac", *args, "bad.yaml", cwd=tmp_path)
        assert run.code == 2, run.stderr
        assert "kubeward: error: bad.yaml:3: invalid YAML" in run.stderr
    run = kubeward("rbac", "can", "alice", "get", "pods", "missing.yaml", cwd=tmp_path)
    assert run.code == 2 and "missing.yaml: " in run.stderr and ":None" not in run.stderr


def test_who_can_lists_only_subjects_the_api_server_accepts(tmp_path: Path) -> None:
    """A subject of kind "user" (lowercase) makes the API server refuse the binding."""
    (tmp_path / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        "metadata: {name: b, namespace: shop}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\n"
        "subjects: [{kind: user, name: mallory}, {kind: User, name: alice}]\n"
    )
    run = kubeward("rbac", "who-can", "get", "secrets", "-n", "shop", "rbac.yaml", "-f", "json",
                   cwd=tmp_path)  # fmt: skip
    assert run.code == 0, run.stderr
    names = {s["name"] for s in json.loads(run.stdout)["subjects"]}
    assert "alice" in names and "mallory" not in names
