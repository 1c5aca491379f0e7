"""Image references are parsed as the container runtime resolves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.config import load_config
from kubeward.errors import ConfigError
from kubeward.rules._common.images import (
    InvalidImageReference,
    first_match,
    parse_image,
    parse_registry_pattern,
)

CASES = [
    ("nginx", "docker.io", "library/nginx", None, None),
    ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
    ("acme/api:2", "docker.io", "acme/api", "2", None),
    ("docker.io/nginx", "docker.io", "library/nginx", None, None),
    ("index.docker.io/library/nginx", "docker.io", "library/nginx", None, None),
    ("localhost/app", "localhost", "app", None, None),
    ("localhost:5000/a/b:c", "localhost:5000", "a/b", "c", None),
    (
        "registry.corp.example:8443/x/y@sha256:" + "a" * 64,
        "registry.corp.example:8443",
        "x/y",
        None,
        "sha256:" + "a" * 64,
    ),
    ("ghcr.io/acme/api:1@sha256:" + "b" * 64, "ghcr.io", "acme/api", "1", "sha256:" + "b" * 64),
    ("Registry.Example.COM/x", "registry.example.com", "x", None, None),
    ("[::1]:5000/x", "[::1]:5000", "x", None, None),
    # library/ only where the runtime adds it (distribution/reference: no host, or exactly
    # docker.io / index.docker.io); the host is still Docker Hub.
    ("registry-1.docker.io/nginx", "docker.io", "nginx", None, None),
    ("Docker.io/nginx", "docker.io", "nginx", None, None),
    ("registry-1.docker.io/library/nginx", "docker.io", "library/nginx", None, None),
    ("nginx:1@sha512:" + "c" * 128, "docker.io", "library/nginx", "1", "sha512:" + "c" * 128),
    ("x@sha384:" + "d" * 96, "docker.io", "library/x", None, "sha384:" + "d" * 96),
    ("library/" + "a" * 247, "docker.io", "library/" + "a" * 247, None, None),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), CASES)
def test_parse(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        " nginx",
        "UPPER/Case",
        "a:b:c",
        "x@sha256:short",
        "nginx:bad tag",
        "a//b",
        # digests the runtime (go-digest) refuses: pinned to kubeward, a failed pull to the node
        "nginx:latest@sha256:" + "A" * 64,
        "nginx@sha256:" + "a" * 32,
        "nginx@sha256:" + "a" * 65,
        "nginx@md5:" + "a" * 32,
        "nginx@sha1:" + "a" * 40,
        "nginx@sha512:" + "a" * 64,
        "nginx@SHA256:" + "a" * 64,
        "a" * 64,  # an image ID, not a name
        "library/" + "a" * 248,  # repository names are at most 255 characters
        "ghcr.io/" + "a" * 256,
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidImageReference):
        parse_image(text)


@pytest.mark.parametrize(
    ("pattern", "image", "trusted"),
    [
        ("registry.corp.example", "registry.corp.example/x:1", True),
        ("registry.corp.example", "registry.corp.example.evil.com/x", False),
        ("registry.corp.example", "evil.com/registry.corp.example/x", False),
        ("ghcr.io/acme", "ghcr.io/acme/api", True),
        ("ghcr.io/acme", "ghcr.io/acme", True),
        ("ghcr.io/acme", "ghcr.io/acme-evil/api", False),
        ("docker.io/trustedorg/", "trustedorg-evil/x", False),
        ("docker.io/library", "nginx", True),
        ("docker.io", "anything/at-all", True),
        ("index.docker.io", "nginx", True),
        ("localhost:5000", "localhost:5001/x", False),
        ("docker.io/library/nginx", "nginx:1", True),
        ("docker.io/library/nginx", "docker.io/nginx", True),
        ("docker.io/library/nginx", "nginx-evil", False),
        ("docker.io/acme/", "acme/api", True),
        ("docker.io/acme/", "acme", False),
        ("docker.io/library", "registry-1.docker.io/nginx", False),
    ],
)
def test_registry_patterns_match_whole_components(pattern: str, image: str, trusted: bool) -> None:
    assert (
        first_match(parse_image(image), (parse_registry_pattern(pattern),)) is not None
    ) is trusted


@pytest.mark.parametrize(
    "entry", ["https://ghcr.io", "ghcr.io/*", "nginx", "", "ghcr.io/acme:1", "bad host/x"]
)
def test_bad_trusted_registry_entries(entry: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_registry_pattern(entry)


@pytest.mark.parametrize("entry", ["docker.io/nginx", "index.docker.io/nginx", "Docker.IO/redis"])
def test_one_component_docker_hub_entries_are_ambiguous(entry: str) -> None:
    """The image docker.io/nginx is docker.io/library/nginx; as a prefix, the entry would trust
    the account nginx/ instead, and not that image."""
    with pytest.raises(ValueError, match=r"ambiguous.*library/.*account"):
        parse_registry_pattern(entry)


def test_ambiguous_entry_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeward.yaml"
    path.write_text("trustedRegistries: [ghcr.io/acme, docker.io/nginx]\n")
    with pytest.raises(ConfigError, match=r"trustedRegistries\[1\].*ambiguous"):
        load_config(path)
