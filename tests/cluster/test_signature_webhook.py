"""Image signatures through the real API server: ``/pin-images`` (a MutatingWebhookConfiguration)
pins covered tags to verified digests, ``/verify-images`` (a ValidatingWebhookConfiguration)
refuses what is not signed; images live in a real registry, signed by the real cosign.

The webhooks are registered for one namespace only, so the other tests sharing the control
plane are not judged.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.test_admission_webhook import Webhook
from tests.registry import Signing
from tests.testcluster import TestCluster, free_port

NAMESPACE = "signature-test"
NAME = "kubeward-test-signatures"


def pod(name: str, *images: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"containers": [{"name": f"c{i}", "image": image}
                                for i, image in enumerate(images)]},
    }  # fmt: skip


class SignatureWebhook(Webhook):
    def registrations(self) -> list[dict[str, Any]]:
        ca = base64.b64encode(self.cluster.certs.path("ca.crt").read_bytes()).decode()

        def hook(name: str, path: str) -> dict[str, Any]:
            return {
                "name": name,
                "clientConfig": {"url": f"https://127.0.0.1:{self.port}{path}", "caBundle": ca},
                "rules": [{
                    "apiGroups": ["", "apps"], "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["pods", "deployments"], "scope": "Namespaced",
                }],
                "namespaceSelector": {"matchExpressions": [{
                    "key": "kubernetes.io/metadata.name", "operator": "In", "values": [NAMESPACE],
                }]},
                "failurePolicy": "Fail", "sideEffects": "None",
                "admissionReviewVersions": ["v1"], "timeoutSeconds": 15,
            }  # fmt: skip

        return [
            {"apiVersion": "admissionregistration.k8s.io/v1",
             "kind": "MutatingWebhookConfiguration", "metadata": {"name": NAME},
             "webhooks": [{**hook("pin-images.kubeward.io", "/pin-images"),
                           "reinvocationPolicy": "IfNeeded"}]},
            {"apiVersion": "admissionregistration.k8s.io/v1",
             "kind": "ValidatingWebhookConfiguration", "metadata": {"name": NAME},
             "webhooks": [hook("verify-images.kubeward.io", "/verify-images")]},
        ]  # fmt: skip


@pytest.fixture(scope="module")
def images(oci_registry: Signing) -> dict[str, str]:
    """Image references: signed/unsigned, by tag and by digest."""
    private, public = oci_registry.key_pair("webhook-release")
    base = f"{oci_registry.address}/shop"
    found = {"key": str(public)}
    for name in ("signed", "unsigned", "signed-bundle"):
        digest = oci_registry.push(f"shop/{name}", "1.0")
        found[name] = f"{base}/{name}:1.0"
        found[f"{name}@"] = f"{base}/{name}@{digest}"
        found[f"{name}-digest"] = digest
    oci_registry.sign(found["signed@"], private, bundle=False)
    oci_registry.sign(found["signed-bundle@"], private, bundle=True)
    return found


@pytest.fixture(scope="module")
def webhook(
    cluster: TestCluster,
    oci_registry: Signing,
    images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SignatureWebhook]:
    directory = tmp_path_factory.mktemp("signature-webhook")
    hook = SignatureWebhook(cluster, directory)
    down = f"127.0.0.1:{free_port()}"  # a registry that is not there
    hook.config.write_text(
        "imageSignatures:\n"
        "  rules:\n"
        "    - name: shop\n"
        f'      images: ["{oci_registry.address}/shop/**", "{down}/**"]\n'
        f"      keys: [{images['key']}]\n"
        f'  plainHTTP: ["{oci_registry.address}", "{down}"]\n'
        "  timeout: 2\n"
    )
    hook.down = down  # type: ignore[attr-defined]
    hook.start()
    cluster.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
         *hook.registrations()]
    )  # fmt: skip
    try:
        _wait_until_registered(cluster, images)
        yield hook
    finally:
        hook.stop()
        with cluster.client() as api:
            for kind in ("mutating", "validating"):
                api.delete(
                    f"/apis/admissionregistration.k8s.io/v1/{kind}webhookconfigurations/{NAME}"
                )


def create(cluster: TestCluster, obj: dict[str, Any]) -> httpx.Response:
    plural = {"Pod": "pods", "Deployment": "deployments"}[obj["kind"]]
    base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    with cluster.client() as api:
        return api.post(f"{base}/namespaces/{NAMESPACE}/{plural}", json=obj)


def _wait_until_registered(cluster: TestCluster, images: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with cluster.client() as api:
            reply = api.post(
                f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod("probe", images["unsigned@"]),
                params={"dryRun": "All"},
            )  # fmt: skip
        if reply.status_code == 403:
            return
        time.sleep(0.2)
    raise AssertionError("the signature webhook never answered the API server")


def test_a_signed_tag_is_admitted_pinned_to_its_verified_digest(
    webhook: SignatureWebhook, images: dict[str, str]
) -> None:
    reply = create(webhook.cluster, pod("signed", images["signed"], images["signed-bundle"]))
    assert reply.status_code == 201, reply.text
    stored = [c["image"] for c in reply.json()["spec"]["containers"]]
    assert stored == [
        f"{images['signed']}@{images['signed-digest']}",
        f"{images['signed-bundle']}@{images['signed-bundle-digest']}",
    ]
    trust = ssl.create_default_context(cafile=str(webhook.cluster.certs.path("ca.crt")))
    metrics = httpx.get(f"https://127.0.0.1:{webhook.port}/metrics", verify=trust).text
    assert 'kubeward_admission_requests_total{decision="pinned",operation="CREATE"}' in metrics


def test_a_signed_digest_is_admitted_unchanged(
    webhook: SignatureWebhook, images: dict[str, str]
) -> None:
    reply = create(webhook.cluster, pod("by-digest", images["signed@"]))
    assert reply.status_code == 201, reply.text
    assert reply.json()["spec"]["containers"][0]["image"] == images["signed@"]


@pytest.mark.parametrize("which", ["unsigned", "unsigned@"])
def test_an_unsigned_image_is_denied_with_i007(
    webhook: SignatureWebhook, images: dict[str, str], which: str
) -> None:
    name = "unsigned-tag" if which == "unsigned" else "unsigned-digest"
    reply = create(webhook.cluster, pod(name, images["signed@"], images[which]))
    assert reply.status_code == 403, reply.text
    message = reply.json()["message"]
    assert 'admission webhook "verify-images.kubeward.io" denied the request' in message
    assert "I007 unverified-image-signature" in message and "is unsigned" in message
    assert images["signed@"] not in message  # only the offending container is named


def test_a_deployment_template_is_pinned_and_judged(
    webhook: SignatureWebhook, images: dict[str, str]
) -> None:
    def deployment(name: str, image: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
        }  # fmt: skip

    reply = create(webhook.cluster, deployment("shop", images["signed"]))
    assert reply.status_code == 201, reply.text
    template = reply.json()["spec"]["template"]["spec"]["containers"][0]
    assert template["image"] == f"{images['signed']}@{images['signed-digest']}"
    refused = create(webhook.cluster, deployment("shady", images["unsigned"]))
    assert refused.status_code == 403 and "I007" in refused.json()["message"]


def test_image_volumes_are_pinned_and_judged_like_containers(
    webhook: SignatureWebhook, images: dict[str, str]
) -> None:
    """An ``image`` volume is pulled by the kubelet and mounted into the containers: an
    unsigned one must not slip past the containers' checks."""

    def with_volume(name: str, reference: str) -> dict[str, Any]:
        manifest = pod(name, images["signed@"])
        manifest["spec"]["volumes"] = [{"name": "models", "image": {"reference": reference}}]
        manifest["spec"]["containers"][0]["volumeMounts"] = [
            {"name": "models", "mountPath": "/models"}
        ]
        return manifest

    reply = create(webhook.cluster, with_volume("volume-signed", images["signed"]))
    assert reply.status_code == 201, reply.text
    volume = reply.json()["spec"]["volumes"][0]["image"]
    assert volume["reference"] == f"{images['signed']}@{images['signed-digest']}"
    refused = create(webhook.cluster, with_volume("volume-unsigned", images["unsigned@"]))
    assert refused.status_code == 403, refused.text
    message = refused.json()["message"]
    assert "I007 unverified-image-signature" in message and 'image volume "models"' in message


def test_a_registry_that_cannot_be_asked_is_refused_not_passed(
    webhook: SignatureWebhook,
) -> None:
    image = f"{webhook.down}/shop/app@sha256:{'b' * 64}"  # type: ignore[attr-defined]
    reply = create(webhook.cluster, pod("unreachable", image))
    assert reply.status_code == 403, reply.text
    assert "could not be checked" in reply.json()["message"]


def test_scan_cluster_verify_images_reports_the_running_unsigned_image(
    cluster: TestCluster, oci_registry: Signing, images: dict[str, str], tmp_path: Path
) -> None:
    """A live scan asks the registries about what the cluster runs (no webhook involved)."""
    from tests.cli_helpers import kubeward

    namespace = "signature-scan"
    running = pod("mixed", images["signed@"], images["unsigned@"])
    running["metadata"]["namespace"] = namespace
    cluster.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, running]
    )
    (tmp_path / "kubeward.yaml").write_text(
        "imageSignatures:\n  rules:\n    - name: shop\n"
        f'      images: ["{oci_registry.address}/shop/**"]\n      keys: [{images["key"]}]\n'
        f'  plainHTTP: ["{oci_registry.address}"]\n'
    )
    run = kubeward(
        "scan", "--cluster", "--kubeconfig", cluster.kubeconfig, "-n", namespace,
        "--verify-images", "--select", "I007", "-f", "json", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [(f["ruleId"], f["path"]) for f in findings] == [("I007", "spec.containers[1].image")]
    assert images["unsigned-digest"] in findings[0]["message"]
