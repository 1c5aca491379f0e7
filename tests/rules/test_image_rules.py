"""Image rules beyond their fixtures: the pull-policy default and what the messages say
(tests/cluster/test_pull_policy_oracle.py holds the default to a real kube-apiserver)."""

from __future__ import annotations

from typing import Any

import pytest

from kubeward.model import K8sObject, image_uses
from kubeward.model.objects import UNLOCATED
from kubeward.rules._base import RuleParams
from kubeward.rules._common.images import parse_image
from kubeward.rules.images._containers import default_pull_policy
from kubeward.rules.images.deprecated_registry import deprecated_registry
from kubeward.rules.images.mutable_tag_without_always_pull import mutable_tag_without_always_pull

DIGEST = "sha256:" + "0" * 64


def pod(containers: list[dict[str, Any]], volumes: list[Any] | None = None) -> K8sObject:
    spec: dict[str, Any] = {"containers": containers}
    if volumes is not None:
        spec["volumes"] = volumes
    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    return K8sObject(raw, UNLOCATED)


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:Latest", "IfNotPresent"),
        ("nginx:1.27", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:5001", "IfNotPresent"),
        (f"nginx@{DIGEST}", "IfNotPresent"),
        (f"nginx:1.27@{DIGEST}", "IfNotPresent"),
        # the API server reads the tag, not the digest (the Images page says IfNotPresent for
        # any digest; kube-apiserver 1.35 sets Always here)
        (f"nginx:latest@{DIGEST}", "Always"),
    ],
)
def test_default_pull_policy_is_the_api_servers(image: str, policy: str) -> None:
    assert default_pull_policy(parse_image(image)) == policy


def messages(obj: K8sObject, check: Any) -> list[str]:
    return [violation.message for violation in check.run_object(obj, RuleParams())]


def test_i006_says_what_an_empty_or_invalid_policy_does() -> None:
    obj = pod(
        [
            {"name": "empty", "image": "ghcr.io/acme/web:1.4.2", "imagePullPolicy": ""},
            {"name": "empty-latest", "image": "nginx:latest", "imagePullPolicy": ""},
            {"name": "lower", "image": "ghcr.io/acme/web:1.4.2", "imagePullPolicy": "always"},
        ],
        [{"name": "v", "image": {"reference": "ghcr.io/acme/m:1", "pullPolicy": "never"}}],
    )
    assert messages(obj, mutable_tag_without_always_pull) == [
        'container "empty": ghcr.io/acme/web:1.4.2 is not pinned by digest and imagePullPolicy '
        "is empty, which defaults to IfNotPresent: nodes run whatever image they cached for "
        "the tag",
        'container "lower": ghcr.io/acme/web:1.4.2 is not pinned by digest and imagePullPolicy '
        'is "always", which the API server rejects (it accepts Always, IfNotPresent or Never, '
        "case-sensitive)",
        'image volume "v": ghcr.io/acme/m:1 is not pinned by digest and pullPolicy is "never", '
        "which the API server rejects (it accepts Always, IfNotPresent or Never, "
        "case-sensitive)",
    ]


@pytest.mark.parametrize(
    ("image", "where"),
    [
        ("k8s.gcr.io/pause:3.9", "from k8s.gcr.io (frozen since 3 April 2023); use registry.k8s.io/pause"),
        ("gcr.io/google_containers/pause:3.1", "from gcr.io/google_containers (frozen since 2020); use registry.k8s.io/pause"),
        ("gcr.io/google-containers/kube-proxy:v1.18.0", "from gcr.io/google-containers (frozen since 2020); use registry.k8s.io/kube-proxy"),
    ],
)  # fmt: skip
def test_i005_names_the_same_image_on_registry_k8s_io(image: str, where: str) -> None:
    (message,) = messages(pod([{"name": "c", "image": image}]), deprecated_registry)
    assert message.endswith(where)


def test_an_unnamed_image_volume_is_shown_by_position_like_a_container() -> None:
    obj = pod([{"image": "nginx:1.27"}], [{"image": {"reference": "nginx:1.27"}}])
    assert [use.label for use in image_uses(obj)] == ['container "#0"', 'image volume "#0"']
