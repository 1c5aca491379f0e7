"""`kubeward scan --cluster` against a real kube-apiserver (tests/testcluster.py).

The oracle for live scanning is the manifest scan of the same objects: applied to the API
server and scanned back, they must give the same findings, apart from differences the API
server itself causes (listed, with reasons, in EXPECTED_DIFFERENCES).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.cluster import live
from kubeward.cluster.client import ApiClient
from kubeward.cluster.kubeconfig import load as load_kubeconfig
from kubeward.config import load_config
from kubeward.model import ScanResult
from kubeward.model.secrets import LAST_APPLIED
from kubeward.scan import ClusterTarget, ScanRequest, run_scan
from kubeward.sources.load import LoadOptions, load
from tests.cli_helpers import kubeward
from tests.conftest import ROOT, require_tool
from tests.testcluster import TestCluster

EXAMPLE = ROOT / "examples" / "insecure"
CANARY = "canary-live-s3cr3t"

Key = tuple[str, str, str | None, str]

# Findings a manifest scan and a live scan of the same objects legitimately disagree on.
EXPECTED_DIFFERENCES = {
    # A live Secret is read metadata-only: its values never reach kubeward, so "this manifest
    # carries Secret data" has nothing to judge.
    "S007",
}


def keys(result: ScanResult, objects: set[tuple[str, str | None, str]]) -> set[Key]:
    return {
        (f.rule_id, f.object.kind, f.object.namespace, f.object.name)
        for f in result.findings
        if (f.object.kind, f.object.namespace, f.object.name) in objects
    }


def apply_in_order(cluster: TestCluster, objects: list[dict[str, Any]]) -> None:
    """As a deploy tool would: namespaces first, then accounts and roles, then the rest."""
    first = ("Namespace", "ServiceAccount", "ClusterRole", "Role")
    cluster.apply(
        sorted(objects, key=lambda o: first.index(o["kind"]) if o["kind"] in first else 9)
    )


def test_live_scan_matches_the_manifest_scan(cluster: TestCluster) -> None:
    require_tool("helm")
    require_tool("kustomize")
    config = load_config(EXAMPLE / "kubeward.yaml")
    loaded = load([str(EXAMPLE)], LoadOptions(deploy_namespace="shop"))
    assert not loaded.errors
    manifest = run_scan(ScanRequest(paths=(str(EXAMPLE),), config=config, namespace="shop"))
    for obj in loaded.objects:  # what kubectl would do with --namespace shop
        if obj.namespace is not None:
            obj.raw["metadata"]["namespace"] = obj.namespace
    apply_in_order(cluster, [obj.raw for obj in loaded.objects])
    applied = {(o.kind, o.namespace, o.name) for o in loaded.objects}

    target = ClusterTarget(kubeconfig=str(cluster.kubeconfig))
    result = run_scan(ScanRequest(paths=(), config=config, cluster=target))

    assert not result.errors, [e.message for e in result.errors]
    assert result.scan.cluster is not None
    assert result.scan.cluster.context == "kubeward-test"
    expected = {k for k in keys(manifest, applied) if k[0] not in EXPECTED_DIFFERENCES}
    found = keys(result, applied)
    assert found == expected, {
        "only in the manifest scan": sorted(expected - found),
        "only in the live scan": sorted(found - expected),
    }
    assert len(found) > 100
    assert all(f.file is None and f.line is None for f in result.findings)
    assert all(f.object.resource_version for f in result.findings)


def test_secrets_are_read_without_their_values(cluster: TestCluster) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "vault",
            "annotations": {
                # what `kubectl apply` leaves behind: a second copy of the values
                LAST_APPLIED: json.dumps(
                    {"apiVersion": "v1", "kind": "Secret", "stringData": {"password": CANARY}}
                )
            },
        },
        "stringData": {"password": CANARY},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault"}}
    cluster.apply([namespace, secret])
    with ApiClient(load_kubeconfig(str(cluster.kubeconfig))) as client:
        read = live.read(client, ["vault"])
    (found,) = [o for o in read.objects if o.kind == "Secret" and o.name == "db"]
    assert "data" not in found.raw
    assert "stringData" not in found.raw
    held = json.dumps([o.raw for o in read.objects])
    assert CANARY not in held
    # the leak is still reported, by key
    run = kubeward(
        "scan", "--cluster", "--kubeconfig", cluster.kubeconfig, "-n", "vault",
        "--select", "S003", "-f", "json", cwd=ROOT,
    )  # fmt: skip
    report = json.loads(run.stdout)
    (finding,) = report["findings"]
    assert "stringData 'password'" in finding["message"]
    for fmt in ("table", "sarif", "junit", "html"):
        output = kubeward(
            "scan", "--cluster", "--kubeconfig", cluster.kubeconfig, "-n", "vault", "-f", fmt,
            cwd=ROOT,
        )  # fmt: skip
        assert CANARY not in output.stdout + output.stderr


def test_missing_permissions_are_coverage_gaps(cluster: TestCluster) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "pods-only", "namespace": "team-a"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "alice-pods", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods-only"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root", "namespace": "team-a"},
        "spec": {
            "serviceAccountName": "default",
            "containers": [
                {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}
            ],
        },
    }
    cluster.apply([namespace, role, binding, pod])
    alice = cluster.user_kubeconfig("alice")
    args = ("scan", "--cluster", "--kubeconfig", alice, "-n", "team-a", "-f", "json")
    run = kubeward(*args, cwd=ROOT)
    assert run.code == 2, run.stderr
    report = json.loads(run.stdout)
    gaps = {(g["verb"], g["resource"], g["group"], g["namespace"]) for g in report["coverage"]}
    assert ("list", "secrets", "", "team-a") in gaps
    assert ("list", "deployments", "apps", "team-a") in gaps
    assert ("list", "clusterroles", "rbac.authorization.k8s.io", None) in gaps
    assert ("list", "pods", "", "team-a") not in gaps
    gap = next(g for g in report["coverage"] if g["resource"] == "secrets")
    assert 'User "alice" cannot list resource "secrets"' in gap["message"]
    assert report["summary"]["coverageGaps"] == len(report["coverage"])
    assert {e["kind"] for e in report["errors"]} == {"coverage"}
    # what could be read was judged
    assert "W001" in {f["ruleId"] for f in report["findings"]}
    partial = kubeward(*args, "--allow-partial", cwd=ROOT)
    assert partial.code == 1
    assert json.loads(partial.stdout)["summary"]["errors"] == 0
    table = kubeward("scan", "--cluster", "--kubeconfig", alice, "-n", "team-a", cwd=ROOT)
    assert "cannot list secrets in namespace team-a" in table.stdout


def test_the_deployed_role_is_enough(cluster: TestCluster) -> None:
    """deploy/rbac.yaml, applied as is: a scan with exactly those permissions has no gap."""
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()))
    cluster.apply(documents)
    token = cluster.service_account_token("kubeward", "kubeward")
    config = cluster.token_kubeconfig(token, "kubeward-sa")
    run = kubeward("scan", "--cluster", "--kubeconfig", config, "-f", "json", cwd=ROOT)
    report = json.loads(run.stdout)
    assert report["coverage"] == [], report["coverage"]
    assert report["summary"]["errors"] == 0
    assert report["summary"]["objects"] > 50
    # judged for the API server's own version (kubeward's /version read is allowed to anyone)
    with cluster.client() as api:
        served = api.get("/version").json()["gitVersion"]
    assert served.lstrip("v").startswith(report["scan"]["kubernetesVersion"] + ".")
    older = kubeward(
        "scan", "--cluster", "--kubeconfig", config, "--kube-version", "1.30", "-f", "json",
        cwd=ROOT,
    )  # fmt: skip
    assert json.loads(older.stdout)["scan"]["kubernetesVersion"] == "1.30"


def test_paging_reads_every_item(cluster: TestCluster) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "many"}}
    configmaps = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "many"}}
        for i in range(7)
    ]  # fmt: skip
    cluster.apply([namespace, *configmaps])
    with ApiClient(load_kubeconfig(str(cluster.kubeconfig))) as client:
        items, version = client.list("/api/v1/namespaces/many/configmaps", page_size=2)
    names = sorted(item["metadata"]["name"] for item in items)
    assert [n for n in names if n.startswith("cm-")] == [f"cm-{i}" for i in range(7)]
    assert version


def test_unreachable_cluster_and_refused_credentials(cluster: TestCluster, tmp_path: Path) -> None:
    data = yaml.safe_load(cluster.kubeconfig.read_text())
    data["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens there
    unreachable = tmp_path / "unreachable"
    unreachable.write_text(yaml.safe_dump(data))
    run = kubeward("scan", "--cluster", "--kubeconfig", unreachable, cwd=ROOT)
    assert run.code == 2
    assert "cannot reach https://127.0.0.1:9" in run.stderr
    assert "Traceback" not in run.stderr

    wrong = cluster.token_kubeconfig("not-a-valid-token", "wrong")
    run = kubeward("scan", "--cluster", "--kubeconfig", wrong, cwd=ROOT)
    assert run.code == 2
    assert "refused the credentials (401" in run.stderr
    assert "not-a-valid-token" not in run.stderr

    garbage = tmp_path / "garbage"
    garbage.write_text("clusters: [\n")
    run = kubeward("scan", "--cluster", "--kubeconfig", garbage, cwd=ROOT)
    assert run.code == 2
    assert "not valid YAML" in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--cluster", "deploy"),
        ("scan", "--kubeconfig", "x"),
        ("scan", "-n", "a", "-n", "b"),
    ],
)
def test_cluster_flags_are_checked(args: tuple[str, ...]) -> None:
    run = kubeward(*args, cwd=ROOT)
    assert run.code == 2
    assert "Traceback" not in run.stderr
