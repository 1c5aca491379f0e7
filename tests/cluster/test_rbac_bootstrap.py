"""The bundled default RBAC policy is the API server's, and `rbac --cluster` reads the live one."""

from __future__ import annotations

import json
from importlib import resources

from kubeward.sources.bootstrap import version_for
from tests.cli_helpers import kubeward
from tests.conftest import ROOT
from tests.testcluster import TestCluster


def test_bundled_defaults_match_the_api_server(cluster: TestCluster) -> None:
    with cluster.client() as api:
        version = api.get("/version").json()["gitVersion"]
    minor = tuple(int(p) for p in version.lstrip("v").split(".")[:2])
    assert version_for(minor) == minor  # type: ignore[arg-type]
    data = resources.files("kubeward.rbac.bootstrap") / f"v{minor[0]}.{minor[1]}.json"
    bundled = json.loads(data.read_text())
    assert bundled["objects"] == cluster.bootstrap_rbac(), (
        "regenerate with: python tools/gen_bootstrap_rbac.py"
    )


def test_rbac_queries_on_the_live_cluster(cluster: TestCluster) -> None:
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rbac-live"}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "frank-edit", "namespace": "rbac-live"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "User", "name": "frank", "apiGroup": "rbac.authorization.k8s.io"}],
            },
        ]
    )  # fmt: skip
    args = ("--cluster", "--kubeconfig", str(cluster.kubeconfig), "-f", "json")
    run = kubeward("rbac", "who-can", "create", "pods/exec", "-n", "rbac-live", *args, cwd=ROOT)
    assert run.code == 0, run.stderr
    names = {(s["kind"], s["name"]) for s in json.loads(run.stdout)["subjects"]}
    assert ("User", "frank") in names  # edit (aggregated by the controller manager) grants exec
    run = kubeward("rbac", "can", "frank", "get", "secrets", "-n", "default", *args, cwd=ROOT)
    assert run.code == 1  # the RoleBinding grants only in its namespace
