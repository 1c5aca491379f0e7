"""kubeward's image-reference parser agrees with the one the container runtime uses.

``tools/imageref-oracle`` wraps ``github.com/distribution/reference`` (ParseNormalizedNamed,
ParseDockerRef: what containerd, CRI-O, the kubelet and Docker run on ``image:``). Hypothesis
writes references around every corner of the grammar (hosts with and without ports, IPv4/IPv6,
upper case, separators, tag and path lengths, digests of several algorithms, Docker Hub's
aliases, trailing junk) and each one must parse the same: valid or not, and the same registry,
repository, tag and digest.

Deliberate differences, both on the safe side for matching (docs/rules/I001.md):

* the registry host is lower-cased (DNS is case-insensitive: ``Registry.Corp`` is the host
  ``registry.corp``) and Docker Hub's host aliases (``index.docker.io``,
  ``registry-1.docker.io``) are spelled ``docker.io``; the repository path is the runtime's,
  verbatim (``library/`` only where the runtime adds it);
* a reference longer than 4096 characters is invalid: only the host can make it that long
  (path, tag and digest are bounded), and no DNS name is.

The oracle is built on first use (seconds: one small module from the Go module proxy) into
the tools cache, keyed by its sources as ``tools/build-go-tools.sh`` keys it, so `make tools`
and this fixture share one build. Without Go the test skips (in CI it fails).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kubeward.rules._common.images import (
    DOCKER_HUB,
    InvalidImageReference,
    first_match,
    parse_image,
    parse_registry_pattern,
)
from kubeward.rules.images._containers import is_latest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "imageref-oracle"
MAX_REFERENCE = 4096
"""kubeward's length bound (see the module docstring)."""


def _tools_cache() -> Path:
    configured = os.environ.get("KUBEWARD_TOOLS_CACHE")
    if configured:
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "kubeward" / "tools"


def _unavailable(reason: str) -> None:
    message = f"the image-reference oracle is unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def oracle_binary() -> Path:
    """The oracle built from the sources in the repository, building it if missing."""
    source = b"".join(
        (SOURCES / name).read_bytes()
        for name in ("go.mod", "go.sum", *sorted(p.name for p in SOURCES.glob("*.go")))
    )
    key = hashlib.sha256(source).hexdigest()[:16]
    target = _tools_cache() / f"imageref-oracle-{key}" / "imageref-oracle"
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        _unavailable("go is not installed (run `make tools` on a machine with Go)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / "imageref-oracle"
        env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
        try:
            done = subprocess.run(
                [str(go), "build", "-trimpath", "-o", str(built), "."],
                cwd=SOURCES,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            _unavailable("`go build` took over 10 minutes (is the Go module proxy reachable?)")
        if done.returncode != 0:
            _unavailable(f"`go build` failed (module proxy unreachable?): {done.stderr[-800:]}")
        os.replace(built, target)  # atomic: a concurrent session sees all of it or nothing
    return target


class Oracle:
    """One long-lived oracle process, asked one reference at a time (Hypothesis's pace)."""

    def __init__(self, binary: Path) -> None:
        self._process = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def parse(self, reference: str) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(reference) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        assert line, "the oracle exited"
        row: dict[str, Any] = json.loads(line)
        return row

    def close(self) -> None:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)
        self._process.stdout.close()


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    running = Oracle(oracle_binary())
    yield running
    running.close()


Parsed = tuple[str, str, str | None, str | None] | None
"""(registry, repository, tag, digest), or None for an invalid reference."""


def by_kubeward(reference: str) -> Parsed:
    try:
        ref = parse_image(reference)
    except InvalidImageReference:
        return None
    return ref.registry, ref.repository, ref.tag, ref.digest


def registry_host(domain: str) -> str:
    """The oracle's domain as kubeward spells a registry (the deliberate differences)."""
    host = domain.lower()
    return DOCKER_HUB if host in ("index.docker.io", "registry-1.docker.io") else host


def by_runtime(row: dict[str, Any], reference: str) -> Parsed:
    if not row["valid"] or len(reference) > MAX_REFERENCE or not row.get("domain"):
        return None
    return registry_host(row["domain"]), row["path"], row.get("tag"), row.get("digest")


# --- references around every corner of the grammar -----------------------------------------

HEX = "0123456789abcdef"
_hosts = st.sampled_from(
    [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "Docker.IO",
        "Index.Docker.IO",
        "REGISTRY-1.DOCKER.IO",
        "docker.io:443",
        "localhost",
        "LOCALHOST",
        "localhost:5000",
        "registry.corp",
        "registry.corp:443",
        "Registry.Corp:8443",
        "ghcr.io",
        "127.0.0.1",
        "127.0.0.1:5000",
        "[::1]",
        "[::1]:5000",
        "[fe80::1%eth0]",
        "[::g]",
        "::1",
        "Foo",
        "foo_bar.io",
        "-bad.io",
        "bad-.io",
        "a..b",
        "a.b.",
        ".a.b",
        "host:",
        "host:port",
        "",
    ]
)
_label = st.text("abcxyzABCXYZ0189-_", min_size=0, max_size=8)
_generated_host = st.builds(
    lambda labels, port: ".".join(labels) + port,
    st.lists(_label, min_size=1, max_size=4),
    st.sampled_from(["", "", ":5000", ":443", ":0", ":", ":x", ":99999999999"]),
)
_component = st.one_of(
    st.text("abz09._-", min_size=0, max_size=10),
    st.text("abz09._-ABZ", min_size=1, max_size=6),
    st.sampled_from(["library", "nginx", "a__b", "a___b", "a--b", "a._b", "a.b", "_a", "a_"]),
    st.text("ab", min_size=250, max_size=260),
)
_path = st.lists(_component, min_size=1, max_size=4).map("/".join)
_tag = st.one_of(
    st.text("aZ09_.-", min_size=0, max_size=12),
    st.sampled_from(["latest", "LATEST", ".x", "-x", "_x", "1.0"]),
    st.integers(126, 130).map(lambda n: "t" * n),
)
_digest = st.builds(
    lambda algorithm, size, upper: (
        f"{algorithm}:" + (HEX.upper() if upper else HEX) * 8
        if size is None
        else f"{algorithm}:" + ("A" if upper else "a") * size
    ),
    st.sampled_from(
        ["sha256", "sha384", "sha512", "SHA256", "md5", "sha1", "blake3", "sha256+b64u", "a.b"]
    ),
    st.sampled_from([None, 32, 40, 63, 64, 65, 96, 127, 128, 129]),
    st.booleans(),
)
_junk = st.sampled_from(["", "", "", " ", "\n", "\t", "/", ":", "@", "#", "é", "\x00", "//"])


@st.composite
def references(draw: st.DrawFn) -> str:
    host = draw(st.none() | _hosts | _generated_host)
    text = draw(_path) if host is None else f"{host}/{draw(_path)}"
    if draw(st.booleans()):
        text += ":" + draw(_tag)
    if draw(st.booleans()):
        text += "@" + draw(_digest)
    return draw(_junk) + text + draw(_junk) if draw(st.integers(0, 5)) == 0 else text


@given(references() | st.text("aZ09:/@._-[]", max_size=24))
@example("a" * 64)  # a bare image ID is not a name
@example("docker.io/" + "a" * 64)
@example("registry-1.docker.io/nginx")
@example("Index.Docker.IO/nginx")
@example("Docker.io/nginx")
@example("nginx@sha256:" + "A" * 64)
@example("nginx@sha256:" + "a" * 32)
@example("nginx@md5:" + "a" * 32)
@example("nginx:1@sha512:" + "a" * 128)
@example("library/" + "a" * 248)
@example("a" * 256)
@example("h" * 5000 + ".io/x")
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_references_parse_as_the_runtime_parses_them(oracle: Oracle, reference: str) -> None:
    row = oracle.parse(reference)
    runtime = by_runtime(row, reference)
    assert by_kubeward(reference) == runtime, row.get("error")
    if runtime is not None:
        # What the runtime pulls (ParseDockerRef): the digest when there is one, else the tag,
        # else `latest`. kubeward's "latest" is exactly a pull of the `latest` tag.
        pulls_latest = "@" not in row["dockerRef"] and row["dockerRef"].endswith(":latest")
        assert is_latest(parse_image(reference)) is pulls_latest


# --- trusted-registry entries against what the runtime pulls ---------------------------------


@pytest.mark.parametrize(
    ("entry", "image", "trusted"),
    [
        # Docker Hub, however the image spells it, is the entry docker.io and its aliases.
        ("docker.io/library", "nginx", True),
        ("docker.io/library", "docker.io/library/nginx", True),
        ("docker.io/library", "index.docker.io/library/nginx", True),
        ("docker.io/library", "registry-1.docker.io/library/nginx", True),
        ("index.docker.io", "docker.io/library/nginx", True),
        ("registry-1.docker.io/library", "nginx", True),
        # registry-1.docker.io/nginx is the repository `nginx`, not `library/nginx`, to the
        # runtime: not under docker.io/library (it is Docker Hub: under docker.io).
        ("docker.io/library", "registry-1.docker.io/nginx", False),
        ("docker.io", "registry-1.docker.io/nginx", True),
        # A port is part of the host the runtime contacts and of its configuration (hosts.toml,
        # credentials): registry.corp:443 is not the entry registry.corp, nor the other way.
        ("registry.corp", "registry.corp:443/app", False),
        ("registry.corp:443", "registry.corp/app", False),
        ("registry.corp:443", "registry.corp:443/app", True),
        ("docker.io", "docker.io:443/library/nginx", False),
        # Host case does not matter to DNS.
        ("registry.corp", "Registry.CORP/app", True),
    ],
)
def test_trusted_entries_match_what_the_runtime_pulls(
    oracle: Oracle, entry: str, image: str, trusted: bool
) -> None:
    row = oracle.parse(image)
    assert row["valid"], row
    pattern = parse_registry_pattern(entry)
    host, path = registry_host(row["domain"]), row["path"]
    under = host == pattern.registry and (
        not pattern.path or path == pattern.path or path.startswith(pattern.path + "/")
    )
    assert under is trusted
    assert (first_match(parse_image(image), (pattern,)) is not None) is trusted
