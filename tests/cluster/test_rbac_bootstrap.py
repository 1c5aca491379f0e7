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


def test_namespace_questions_read_only_what_they_need(cluster: TestCluster) -> None:
    """who-can/can with -n read the RoleBindings of that namespace only: the answers must be
    those of the whole policy."""
    from kubeward.cluster import kubeconfig, live
    from kubeward.cluster.client import ApiClient
    from kubeward.rbac.objects import policy_from
    from kubeward.rbac.queries import request_for, who_can

    namespaces = ["scoped-a", "scoped-b"]
    cluster.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
        + [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot", "namespace": n}}
            for n in namespaces
        ]
        + [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "readers", "namespace": n},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [
                    {"kind": "User", "name": f"reader-{n}", "apiGroup": "rbac.authorization.k8s.io"},
                    {"kind": "Group", "name": "system:serviceaccounts:scoped-b",
                     "apiGroup": "rbac.authorization.k8s.io"},
                ],
            }
            for n in namespaces
        ]
    )  # fmt: skip
    with ApiClient(kubeconfig.load(str(cluster.kubeconfig))) as client:
        read = live.read(
            client,
            kinds=[
                k
                for k in live.CATALOG_KINDS
                if k.kind
                in ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
            ],
        )
    policy = policy_from(read.objects, aggregate_roles=False)
    accounts = sorted(
        (o.namespace or "", o.name) for o in read.objects if o.kind == "ServiceAccount"
    )
    args = ("--cluster", "--kubeconfig", str(cluster.kubeconfig), "-f", "json")
    for verb, target, namespace in [
        ("list", "pods", "scoped-a"),
        ("get", "configmaps", "scoped-b"),
        ("list", "nodes", ""),
        ("create", "pods/exec", "scoped-a"),
    ]:
        run = kubeward("rbac", "who-can", verb, target, *(["-n", namespace] if namespace else []),
                       *args, cwd=ROOT)  # fmt: skip
        assert run.code == 0, run.stderr
        answered = {
            (s["kind"], s["name"], s["namespace"] or "", s["viaGroup"] or "")
            for s in json.loads(run.stdout)["subjects"]
        }
        expected = {
            (h.kind, h.name, h.namespace, h.via_group)
            for h in who_can(policy, request_for(verb, target, namespace), accounts)
        }
        assert answered == expected, (verb, target, namespace)
        if namespace == "scoped-a" and verb == "list":
            assert ("User", "reader-scoped-a", "", "") in answered
            assert ("User", "reader-scoped-b", "", "") not in answered
            assert (
                "ServiceAccount",
                "bot",
                "scoped-b",
                "system:serviceaccounts:scoped-b",
            ) in answered
