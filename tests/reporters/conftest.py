"""A scan result with every kind of entry, built by scanning real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.config import load_config
from kubeward.model import ScanResult
from tests.conftest import scan_paths

CANARY = "Canary-S3cr3t-Value-9f27c1"

MANIFESTS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  annotations:
    kubeward.io/ignore.A001: "shared SA approved in SEC-42"
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext:
            privileged: true
          env:
            - name: DB_PASSWORD
              value: "{CANARY}"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: "<script>alert('x')</script>"
  namespace: default
data: {{a: b}}
"""


@pytest.fixture(scope="session")
def sample_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    root: Path = tmp_path_factory.mktemp("sample")
    (root / "app.yaml").write_text(MANIFESTS)
    (root / "broken.yaml").write_text("a: [1\n")
    (root / "kubeward.yaml").write_text("trustedRegistries: [registry.corp.example]\n")
    config = load_config(root / "kubeward.yaml")
    return scan_paths([root / "app.yaml", root / "broken.yaml"], config=config)
