"""I006 against the API server's pull-policy defaulting (``SetDefaults_Container``,
``SetDefaults_ImageVolumeSource``): each Pod is created with ``dryRun=All`` and judged twice,
as written and as the server returns it (every policy then explicit). The two verdicts must
agree, for containers and image volumes alike; a Pod the server refuses for its policy value
must be reported."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from kubeward.model import K8sObject
from kubeward.model.objects import UNLOCATED
from kubeward.rules._base import RuleParams
from kubeward.rules._common.images import parse_image
from kubeward.rules.images._containers import default_pull_policy
from kubeward.rules.images.mutable_tag_without_always_pull import mutable_tag_without_always_pull
from tests.testcluster import TestCluster

DIGEST = "sha256:" + "0" * 64
IMAGES = [
    "nginx",
    "nginx:latest",
    "nginx:Latest",
    "nginx:LATEST",
    "nginx:1.27",
    "nginx:latest-alpine",
    f"nginx@{DIGEST}",
    f"nginx:latest@{DIGEST}",
    f"nginx:1.27@{DIGEST}",
    "localhost:5000/app",
    "localhost:5000/app:latest",
    "localhost:5000/app:5001",
    "ghcr.io/acme/web:1.4.2",
]
POLICIES: list[str | None] = [None, "", "Always", "IfNotPresent", "Never", "always", "ALWAYS"]


def pod(image: str, policy: str | None, index: int) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": image}
    volume: dict[str, Any] = {"reference": image}
    if policy is not None:
        container["imagePullPolicy"] = policy
        volume["pullPolicy"] = policy
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pull-policy-{index}", "namespace": "default"},
        "spec": {"containers": [container], "volumes": [{"name": "v", "image": volume}]},
    }


def verdicts(raw: dict[str, Any]) -> list[bool]:
    """Whether I006 reports the container, and the image volume."""
    found = mutable_tag_without_always_pull.run_object(K8sObject(raw, UNLOCATED), RuleParams())
    labels = {violation.message.split(":", 1)[0] for violation in found}
    return ['container "c"' in labels, 'image volume "v"' in labels]


def test_i006_agrees_with_the_api_server_defaulting(cluster: TestCluster) -> None:
    mismatches = []
    with cluster.client() as api:
        for index, (image, policy) in enumerate(itertools.product(IMAGES, POLICIES)):
            written = pod(image, policy, index)
            response: httpx.Response = api.post(
                "/api/v1/namespaces/default/pods", params={"dryRun": "All"}, json=written
            )
            if response.status_code == 422:  # a policy value the server refuses
                assert policy not in (None, "", "Always", "IfNotPresent", "Never"), response.text
                expected = [DIGEST not in image] * 2  # reported unless pulled by digest
            else:
                assert response.status_code == 201, response.text
                stored = response.json()
                spec = stored["spec"]
                defaulted = [
                    spec["containers"][0]["imagePullPolicy"],
                    spec["volumes"][0]["image"]["pullPolicy"],
                ]
                if policy in (None, ""):
                    assert defaulted == [default_pull_policy(parse_image(image))] * 2, image
                expected = verdicts(stored)
            actual = verdicts(written)
            if actual != expected:
                mismatches.append((image, policy, actual, expected))
    assert not mismatches
