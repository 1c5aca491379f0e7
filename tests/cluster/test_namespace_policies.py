"""A CEL policy that reads ``namespaceObject``, enforced by the webhook through the real API
server: the webhook lists and watches the cluster's Namespaces with the permissions it is given
(a user allowed get/list/watch on namespaces, nothing else), sees a label added after it
started, and refuses to start without that permission."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.test_admission_webhook import GOOD_IMAGE, Webhook, pod
from tests.testcluster import TestCluster

NAMESPACE = "namespace-policy-test"
WEBHOOK = "kubeward-namespace-policy-test"
POLICY = """\
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: prod-needs-owner}
spec:
  id: ACME041
  title: Production workload names no owner
  severity: medium
  remediation: Label it with its owner.
  match: {kinds: [Pod]}
  validations:
    - expression: >-
        namespaceObject.metadata.?labels.?tier.orValue('') != 'prod' ||
        'owner' in object.metadata.?labels.orValue({})
      message: a pod in a production namespace names no owner
"""
CONFIG = 'policies: [policy.yaml]\nadmission:\n  defaultAction: "off"\n  actions: {ACME041: deny}\n'
READER_RBAC = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "namespace-reader"},
     "rules": [{"apiGroups": [""], "resources": ["namespaces"],
                "verbs": ["get", "list", "watch"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "namespace-reader"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                 "name": "namespace-reader"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                   "name": "kubeward-namespace-reader"}]},
]  # fmt: skip


class NamespaceWebhook(Webhook):
    def __init__(self, cluster: TestCluster, directory: Path, kubeconfig: Path) -> None:
        super().__init__(cluster, directory)
        self.config.write_text(CONFIG)
        (directory / "policy.yaml").write_text(POLICY)
        self.extra = ["--kubeconfig", str(kubeconfig)]

    def command(self) -> list[str]:
        return [sys.executable, "-m", "kubeward", "admission", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--tls-cert", str(self.cert), "--tls-key",
                str(self.key), "--config", str(self.config), "--log-level", "warning",
                *self.extra]  # fmt: skip


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def service_account(ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "web", "namespace": ns},
    }


def create_pod(cluster: TestCluster, ns: str, obj: dict[str, Any]) -> httpx.Response:
    obj = {**obj, "metadata": {**obj["metadata"], "namespace": ns}}
    with cluster.client() as api:
        return api.post(f"/api/v1/namespaces/{ns}/pods", json=obj, params={"dryRun": "All"})


def registration(hook: Webhook) -> dict[str, Any]:
    config = hook.registration("Fail")
    config["metadata"]["name"] = WEBHOOK
    (webhook,) = config["webhooks"]
    webhook["rules"][0]["resources"] = ["pods"]
    webhook["namespaceSelector"] = {"matchLabels": {"kubeward-namespace-test": "yes"}}
    return config


@pytest.fixture(scope="module")
def webhook(cluster: TestCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    labels = {"tier": "prod", "kubeward-namespace-test": "yes"}
    cluster.apply([*READER_RBAC, namespace(NAMESPACE, **labels), service_account(NAMESPACE)])
    reader = cluster.user_kubeconfig("kubeward-namespace-reader")
    hook = NamespaceWebhook(cluster, tmp_path_factory.mktemp("ns-webhook"), reader)
    _start(hook)
    cluster.apply([registration(hook)])
    try:
        _wait_until_denied(cluster)
        yield hook
    finally:
        hook.stop()
        with cluster.client() as api:
            api.delete(
                f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{WEBHOOK}"
            )


def _start(hook: Webhook) -> None:
    assert isinstance(hook, NamespaceWebhook)
    hook.process = subprocess.Popen(hook.command(), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if hook.process.poll() is not None:
            raise AssertionError(hook.process.communicate()[1].decode())
        try:
            if httpx.get(f"https://127.0.0.1:{hook.port}/readyz", verify=False).text == "ok":  # noqa: S501 - readiness only
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the webhook did not start")


def _wait_until_denied(cluster: TestCluster) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = create_pod(cluster, NAMESPACE, pod("probe", image=GOOD_IMAGE))
        if reply.status_code == 403 and "ACME041" in reply.text:
            return
        time.sleep(0.2)
    raise AssertionError(f"the webhook never answered the API server: {reply.text}")


def test_the_namespace_decides_and_changes_to_it_are_seen(
    webhook: Webhook, cluster: TestCluster
) -> None:
    orphan = pod("orphan", image=GOOD_IMAGE)
    reply = create_pod(cluster, NAMESPACE, orphan)
    assert reply.status_code == 403
    assert "ACME041 prod-needs-owner" in reply.json()["message"]
    owned = pod("owned", image=GOOD_IMAGE)
    owned["metadata"]["labels"] = {"owner": "team-a"}
    assert create_pod(cluster, NAMESPACE, owned).status_code == 201
    # A namespace created after the webhook started, first without the label, then with it.
    late = "namespace-policy-late"
    cluster.apply([namespace(late, **{"kubeward-namespace-test": "yes"}), service_account(late)])
    late_pod = orphan
    deadline = time.monotonic() + 10
    while create_pod(cluster, late, late_pod).status_code != 201:
        assert time.monotonic() < deadline, "the new namespace was never seen"
        time.sleep(0.1)
    cluster.apply([namespace(late, tier="prod", **{"kubeward-namespace-test": "yes"})])
    deadline = time.monotonic() + 10
    while create_pod(cluster, late, late_pod).status_code != 403:
        assert time.monotonic() < deadline, "the label change was never seen"
        time.sleep(0.1)


def test_without_permission_to_list_namespaces_the_webhook_does_not_start(
    cluster: TestCluster, tmp_path: Path
) -> None:
    nobody = cluster.user_kubeconfig("kubeward-nobody")
    hook = NamespaceWebhook(cluster, tmp_path, nobody)
    run = subprocess.run(hook.command(), capture_output=True, timeout=60, check=False)
    assert run.returncode != 0
    message = run.stderr.decode()
    assert "ACME041 read namespaceObject, so the webhook needs the cluster's Namespaces" in message
    assert "cannot list namespaces" in message and "forbidden" in message.lower()
    assert "Traceback" not in message
