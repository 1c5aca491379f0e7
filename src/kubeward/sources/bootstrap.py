"""The API server's default RBAC objects, bundled per Kubernetes version.

A manifest-only scan sees bindings to `cluster-admin`, `edit` or `system:*` roles that the
manifests do not define: the API server creates them at start-up. Their exact content, dumped
from a real API server by tools/gen_bootstrap_rbac.py, lives in
``kubeward/rbac/bootstrap/v<major>.<minor>.json`` (checked against the server by
tests/cluster/test_rbac_bootstrap.py).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from kubeward.model import K8sObject
from kubeward.sources.manifests import DocumentOrigin, FixedLocator

_PACKAGE = "kubeward.rbac.bootstrap"


def available() -> list[tuple[int, int]]:
    versions = []
    for entry in resources.files(_PACKAGE).iterdir():
        if entry.name.startswith("v") and entry.name.endswith(".json"):
            major, minor = entry.name[1:-5].split(".")
            versions.append((int(major), int(minor)))
    return sorted(versions)


def version_for(wanted: tuple[int, int]) -> tuple[int, int]:
    """The newest bundled version not newer than ``wanted`` (else the oldest bundled)."""
    bundled = available()
    older = [v for v in bundled if v <= wanted]
    return older[-1] if older else bundled[0]


@lru_cache(maxsize=4)
def bootstrap_objects(wanted: tuple[int, int]) -> tuple[K8sObject, ...]:
    major, minor = version_for(wanted)
    data = json.loads(resources.files(_PACKAGE).joinpath(f"v{major}.{minor}.json").read_text())
    origin = DocumentOrigin(
        f"(built in: Kubernetes {data['kubernetesVersion']} default RBAC)", None, FixedLocator(None)
    )
    return tuple(K8sObject(raw, origin) for raw in data["objects"])
