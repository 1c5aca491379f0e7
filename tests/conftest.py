"""Shared helpers: scanning text or paths through the real pipeline (no mocks)."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from kubeward.config import Config, load_config
from kubeward.model import ScanResult, Severity
from kubeward.scan import ScanRequest, run_scan
from tests import postgres, registry, testcluster
from tests.registry import Signing
from tests.testcluster import TestCluster

ROOT = Path(__file__).resolve().parent.parent
TOOL_ENV = {"helm": "KUBEWARD_HELM", "kustomize": "KUBEWARD_KUSTOMIZE", "opa": "KUBEWARD_OPA"}
TOOLS_BIN = (
    Path(
        os.environ.get("KUBEWARD_TOOLS_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubeward" / "tools"
    )
    / "bin"
)
# A plain `pytest` finds the tools `make tools` built, so their tests run instead of skipping.
SIGNING_TOOLS = (("crane", "KUBEWARD_CRANE"), ("cosign", "KUBEWARD_COSIGN"))
REFERRERS_REGISTRY = ("oci-registry", "KUBEWARD_OCI_REGISTRY")
for _tool, _variable in (
    *TOOL_ENV.items(),
    ("psa-oracle", "KUBEWARD_PSA_ORACLE"),
    *SIGNING_TOOLS,
    REFERRERS_REGISTRY,
):
    if not os.environ.get(_variable) and (TOOLS_BIN / _tool).exists():
        os.environ[_variable] = str(TOOLS_BIN / _tool)


def scan_paths(
    paths: Iterable[str | Path],
    *,
    config: Config | None = None,
    select: tuple[str, ...] = (),
    namespace: str | None = None,
    fail_on: Severity | None = Severity.LOW,
    stdin: bytes | None = None,
    policies: tuple[str, ...] = (),
) -> ScanResult:
    return run_scan(
        ScanRequest(
            paths=tuple(str(p) for p in paths),
            config=config or Config(),
            select=select,
            policies=policies,
            namespace=namespace,
            fail_on=fail_on,
            stdin=io.BytesIO(stdin) if stdin is not None else None,
        )
    )


ScanText = Callable[..., ScanResult]


@pytest.fixture
def scan_text(tmp_path: Path) -> ScanText:
    """Write ``text`` to a file and scan it; ``config`` is the text of a kubeward.yaml."""

    def run(
        text: str | bytes,
        *,
        name: str = "manifest.yaml",
        config: str | None = None,
        select: tuple[str, ...] = (),
        namespace: str | None = None,
    ) -> ScanResult:
        target = tmp_path / name
        target.write_bytes(text.encode() if isinstance(text, str) else text)
        cfg = None
        if config is not None:
            cfg_path = tmp_path / "kubeward-test-config.yaml"
            cfg_path.write_text(config)
            cfg = load_config(cfg_path)
        return scan_paths([target], config=cfg, select=select, namespace=namespace)

    return run


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELM_NAMESPACE", raising=False)


def require_tool(name: str) -> None:
    """Skip (outside CI only) when helm/kustomize/opa is missing; in CI a missing tool fails."""
    configured = os.environ.get(TOOL_ENV[name])
    if (configured and Path(configured).exists()) or shutil.which(name):
        return
    message = f"{name} is not installed (run `make tools`, or set {TOOL_ENV[name]})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestCluster]:
    """A real control plane (etcd, kube-apiserver, kube-controller-manager) for the session.

    Built by `make testcluster`; outside CI a missing build skips with the reason, in CI it
    fails. Tests share it: each one works in namespaces of its own.
    """
    directory = testcluster.bin_dir()
    missing = testcluster.missing_binaries(directory)
    if missing:
        message = f"test control plane not built ({', '.join(missing)}): run `make testcluster`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with testcluster.running(
        tmp_path_factory.mktemp("cluster"), audit_policy=AUDIT_EVERYTHING_METADATA
    ) as running:
        yield running


AUDIT_EVERYTHING_METADATA = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "rules": [{"level": "Metadata"}],
}


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server for the session (tools/ensure-postgres.sh installs it)."""
    if postgres.binaries() is None:
        message = "PostgreSQL is not installed (run tools/ensure-postgres.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    directory = Path(tempfile.mkdtemp(prefix="kubeward-postgres-"))
    try:
        with postgres.running(directory) as url:
            yield url
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signing]:
    """A real registry (Debian's docker-registry) with crane and cosign to fill it."""
    missing = [
        name for name, variable in SIGNING_TOOLS if not Path(os.environ.get(variable, "")).is_file()
    ]
    if registry.binary() is None:
        missing.append("docker-registry (tools/ensure-registry.sh)")
    if missing:
        message = f"not available: {', '.join(missing)} (make tools)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("registry")
    with registry.running(directory / "registry") as address:
        yield Signing(
            address,
            directory,
            crane=os.environ["KUBEWARD_CRANE"],
            cosign=os.environ["KUBEWARD_COSIGN"],
        )


@pytest.fixture(scope="session")
def referrers_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signing]:
    """A real registry with the OCI 1.1 referrers API (go-containerregistry's, built by
    ``make tools`` as ``oci-registry``), with crane and cosign to fill it and its request log."""
    missing = [
        name
        for name, variable in (*SIGNING_TOOLS, REFERRERS_REGISTRY)
        if not Path(os.environ.get(variable, "")).is_file()
    ]
    if missing:
        message = f"not built: {', '.join(missing)} (make tools)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("referrers-registry")
    with registry.running_referrers(directory / "registry") as (address, log):
        yield Signing(
            address,
            directory,
            crane=os.environ["KUBEWARD_CRANE"],
            cosign=os.environ["KUBEWARD_COSIGN"],
            log=log,
        )
