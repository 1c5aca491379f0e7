"""The test control plane itself: identities are who they claim, audit logging works, and
ClusterRole aggregation (kube-controller-manager) has run."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import yaml

from tests.testcluster import TestCluster


def whoami(cluster: TestCluster, kubeconfig_text: str) -> dict[str, Any]:
    """SelfSubjectReview as the kubeconfig's user (certificate or token)."""
    config = yaml.safe_load(kubeconfig_text)
    user = config["users"][0]["user"]
    ca = config["clusters"][0]["cluster"]["certificate-authority"]
    context = ssl.create_default_context(cafile=ca)
    headers = {}
    if "client-certificate" in user:
        context.load_cert_chain(user["client-certificate"], user["client-key"])
    else:
        headers["Authorization"] = f"Bearer {user['token']}"
    with httpx.Client(base_url=cluster.server, verify=context, headers=headers) as api:
        review = api.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    review.raise_for_status()
    info: dict[str, Any] = review.json()["status"]["userInfo"]
    return info


def test_users_are_who_they_claim(cluster: TestCluster) -> None:
    bob = cluster.user_kubeconfig("bob", ["qa", "devs"])
    info = whoami(cluster, bob.read_text())
    assert info["username"] == "bob"
    assert {"qa", "devs", "system:authenticated"} <= set(info["groups"])
    admin = whoami(cluster, cluster.kubeconfig.read_text())
    assert "system:masters" in admin["groups"]


def test_service_account_tokens_and_aggregated_roles(cluster: TestCluster) -> None:
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "identities"}},
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "robot", "namespace": "identities"}},
        ]
    )  # fmt: skip
    token = cluster.service_account_token("identities", "robot")
    info = whoami(cluster, cluster.token_kubeconfig(token, "robot").read_text())
    assert info["username"] == "system:serviceaccount:identities:robot"
    with cluster.client() as api:
        view = api.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/view").json()
    assert view["rules"], "clusterrole aggregation (kube-controller-manager) has not run"


def test_audit_log_records_requests(cluster: TestCluster) -> None:
    with cluster.client() as api:
        api.get("/api/v1/namespaces/kube-system/configmaps")
    entries = [json.loads(line) for line in cluster.audit_log.read_text().splitlines()]
    assert any(
        e["verb"] == "list"
        and e["objectRef"].get("resource") == "configmaps"
        and e["user"]["username"] == "kubeward-admin"
        for e in entries
        if "objectRef" in e
    )
