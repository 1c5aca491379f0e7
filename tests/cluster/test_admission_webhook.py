"""`kubeward admission serve` registered with the real API server: what the API server admits.

The webhook is registered for one namespace only (``namespaceSelector`` on the immutable
``kubernetes.io/metadata.name`` label), so the other tests sharing the control plane are not
judged. Its serving certificate is signed by the test cluster's CA.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.test_admission import GOOD_CONTAINER
from tests.testcluster import TestCluster, free_port

NAMESPACE = "admission-test"
WEBHOOK = "kubeward-test-webhook"
CONFIG = """
trustedRegistries: [registry.corp.example]
admission:
  actions: {W022: warn}
"""
GOOD_IMAGE = GOOD_CONTAINER["image"]


def pod(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "serviceAccountName": "web",
            "automountServiceAccountToken": False,
            "containers": [{**GOOD_CONTAINER, **container}],
        },
    }


class Webhook:
    def __init__(self, cluster: TestCluster, directory: Path) -> None:
        self.cluster, self.port = cluster, free_port()
        key, cert = cluster.certs.issue("kubeward-webhook", (), server=True, names=("127.0.0.1",))
        self.key, self.cert = directory / "tls.key", directory / "tls.crt"
        self.key.write_bytes(key)
        self.cert.write_bytes(cert)
        (directory / "kubeward.yaml").write_text(CONFIG)
        self.config = directory / "kubeward.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ""

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kubeward", "admission", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--tls-cert", str(self.cert), "--tls-key", str(self.key),
             "--config", str(self.config), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        trust = ssl.create_default_context(cafile=str(self.cluster.certs.path("ca.crt")))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"https://127.0.0.1:{self.port}/readyz", verify=trust).text == "ok":
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the webhook did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            _, errors = self.process.communicate(timeout=30)
            self.log += errors.decode(errors="replace")
            self.process = None

    def registration(self, failure_policy: str) -> dict[str, Any]:
        ca = base64.b64encode(self.cluster.certs.path("ca.crt").read_bytes()).decode()
        return {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK},
            "webhooks": [{
                "name": "validate.kubeward.io",
                "clientConfig": {"url": f"https://127.0.0.1:{self.port}/validate", "caBundle": ca},
                "rules": [{
                    "apiGroups": ["", "apps", "batch"], "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["pods", "pods/ephemeralcontainers", "deployments", "cronjobs"],
                    "scope": "Namespaced",
                }],
                "namespaceSelector": {"matchExpressions": [{
                    "key": "kubernetes.io/metadata.name", "operator": "In", "values": [NAMESPACE],
                }]},
                "failurePolicy": failure_policy,
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }],
        }  # fmt: skip


@pytest.fixture(scope="module")
def webhook(cluster: TestCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    hook = Webhook(cluster, tmp_path_factory.mktemp("webhook"))
    hook.start()
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "web", "namespace": NAMESPACE}},
            hook.registration("Fail"),
        ]
    )  # fmt: skip
    try:
        _wait_until_registered(cluster)
        yield hook
    finally:
        hook.stop()
        with cluster.client() as api:
            api.delete(
                f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{WEBHOOK}"
            )


def create(cluster: TestCluster, obj: dict[str, Any], *, dry_run: bool = False) -> httpx.Response:
    plural = {"Pod": "pods", "Deployment": "deployments"}[obj["kind"]]
    base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    with cluster.client() as api:
        return api.post(
            f"{base}/namespaces/{NAMESPACE}/{plural}",
            json=obj,
            params={"dryRun": "All"} if dry_run else None,
        )


def _wait_until_registered(cluster: TestCluster) -> None:
    """The API server picks up a new webhook configuration within a moment."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = create(cluster, pod("probe", securityContext={"privileged": True}), dry_run=True)
        if reply.status_code == 403:
            return
        time.sleep(0.2)
    raise AssertionError("the webhook never answered the API server")


def test_non_compliant_pod_is_denied_with_the_rule_ids(webhook: Webhook) -> None:
    bad = pod("bad", image="nginx", securityContext={"privileged": True})
    del bad["spec"]["serviceAccountName"]  # the default service account
    reply = create(webhook.cluster, bad)
    assert reply.status_code == 403, reply.text
    message = reply.json()["message"]
    assert 'admission webhook "validate.kubeward.io" denied the request' in message
    for rule in ("W001 privileged-container", "I001 untrusted-registry", "A001 "):
        assert rule in message, message


def test_compliant_pod_is_admitted_and_warn_rules_warn(webhook: Webhook) -> None:
    reply = create(webhook.cluster, pod("good"))
    assert reply.status_code == 201, reply.text
    assert "warning" not in reply.headers
    unlimited = pod("no-limits", resources={"requests": {"cpu": "100m", "memory": "64Mi"}})
    reply = create(webhook.cluster, unlimited)
    assert reply.status_code == 201, reply.text
    assert "W022" in reply.headers["warning"]  # kubectl prints it as "Warning: W022 ..."


def test_deployment_with_a_bad_template_is_denied(webhook: Webhook) -> None:
    spec = pod("x", image="docker.io/library/redis:7")["spec"]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "cache", "namespace": NAMESPACE},
        "spec": {"selector": {"matchLabels": {"app": "cache"}},
                 "template": {"metadata": {"labels": {"app": "cache"}}, "spec": spec}},
    }  # fmt: skip
    reply = create(webhook.cluster, deployment)
    assert reply.status_code == 403, reply.text
    assert "I001 untrusted-registry" in reply.json()["message"]


def test_ephemeral_container_from_an_untrusted_registry_is_denied(webhook: Webhook) -> None:
    assert create(webhook.cluster, pod("debug-me")).status_code == 201
    with webhook.cluster.client() as api:
        reply = api.patch(
            f"/api/v1/namespaces/{NAMESPACE}/pods/debug-me/ephemeralcontainers",
            content=json.dumps(
                {"spec": {"ephemeralContainers": [{"name": "debug", "image": "busybox"}]}}
            ),
            headers={"Content-Type": "application/strategic-merge-patch+json"},
        )
    assert reply.status_code == 403, reply.text
    assert "I001 untrusted-registry" in reply.json()["message"]


def test_dry_run_is_judged_and_nothing_is_stored(webhook: Webhook) -> None:
    reply = create(webhook.cluster, pod("dry", securityContext={"privileged": True}), dry_run=True)
    assert reply.status_code == 403
    assert create(webhook.cluster, pod("dry-good"), dry_run=True).status_code == 201
    with webhook.cluster.client() as api:
        assert api.get(f"/api/v1/namespaces/{NAMESPACE}/pods/dry-good").status_code == 404


def test_webhook_down_fail_rejects_and_ignore_admits(webhook: Webhook) -> None:
    webhook.stop()
    try:
        reply = create(webhook.cluster, pod("while-down"))
        assert reply.status_code >= 500 or reply.status_code == 403, reply.text
        assert "failed calling webhook" in reply.json()["message"]
        webhook.cluster.apply([webhook.registration("Ignore")])
        deadline = time.monotonic() + 30
        while (reply := create(webhook.cluster, pod("while-down"))).status_code != 201:
            assert time.monotonic() < deadline, reply.text
            time.sleep(0.2)
    finally:
        webhook.cluster.apply([webhook.registration("Fail")])
        webhook.start()


@pytest.mark.parametrize(
    ("signatures", "policies"),
    [(False, False), (True, False), (True, True)],
    ids=["rules", "rules+signatures", "rules+signatures+policies"],
)
def test_rendered_install_is_accepted_by_the_api_server(
    cluster: TestCluster, tmp_path: Path, signatures: bool, policies: bool
) -> None:
    """`kubeward admission manifests` output, applied with server-side dry run (the namespace
    for real): every object is valid for the API server (schema, PDB, webhook configurations,
    with image signatures also the mutating one and the key files' ConfigMap items, with
    users' policies their files' items and the kinds they add to the webhook's rules)."""
    from tests.cli_helpers import kubeward
    from tests.test_admission_manifests import ROLE_POLICY, write_signature_config

    if signatures:
        write_signature_config(tmp_path)
    if policies:
        (tmp_path / "policies").mkdir()
        (tmp_path / "policies" / "roles.yaml").write_text(ROLE_POLICY)
        config = tmp_path / "kubeward.yaml"
        config.write_text(config.read_text() + "policies: [policies]\n")
    run = kubeward(
        "admission", "manifests", "--image", GOOD_IMAGE, "--namespace", "kubeward-install",
        "--apiserver-cidr", "127.0.0.1/32", cwd=tmp_path if signatures else Path(__file__).parent,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    objects = list(yaml.safe_load_all(run.stdout))
    kinds = [o["kind"] for o in objects]
    assert ("MutatingWebhookConfiguration" in kinds) is signatures
    namespace, rest = objects[0], objects[1:]
    cluster.apply([namespace])
    resources = cluster.resources()
    with cluster.client() as api:
        for obj in rest:
            reply = api.patch(
                cluster.object_path(obj, "kubeward-install", resources),
                params={"fieldManager": "kubeward-tests", "force": "true", "dryRun": "All"},
                content=json.dumps(obj),
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            assert reply.status_code in (200, 201), f"{obj['kind']}: {reply.text}"
