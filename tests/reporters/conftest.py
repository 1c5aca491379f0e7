"""A scan result with every kind of entry, built by scanning real files."""

from __future__ import annotations

import os
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


# A users' policy that quotes object content in its messages: control characters, markup-like
# brackets and HTML reach every reporter through it.
ECHO_POLICY = """\
apiVersion: kubeward.io/v1alpha1
kind: RegoPolicy
metadata: {name: echo-annotations}
spec:
  id: ACME700
  title: ConfigMap has annotations
  severity: low
  remediation: "Remove the annotations <b>now</b>."
  description: Annotations are echoed back, control characters and all.
  match: {kinds: [ConfigMap]}
  rego: |
    package echo
    import rego.v1
    deny contains msg if {
      some k, v in input.review.object.metadata.annotations
      msg := sprintf("%s=%s", [k, v])
    }
"""

ECHOED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: "odd\\u001b[2Jname\\u0000"
  namespace: shop
  annotations:
    esc: "esc\\u001b[31mRED\\u001b[0m nul\\u0000 bidi\\u202e end"
    lines: "line1\\nline2\\u2028line3 zero\\u200bwidth"
    markup: "[bold]not bold[/] [/]"
"""


@pytest.fixture(scope="session")
def policy_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """A built-in rule's finding (W001) and a users' policy's findings quoting control
    characters."""
    root: Path = tmp_path_factory.mktemp("policy")
    (root / "policy.yaml").write_text(ECHO_POLICY)
    (root / "app.yaml").write_text(MANIFESTS.split("---", maxsplit=1)[0] + "---\n" + ECHOED)
    return scan_paths(
        [root / "app.yaml"], select=("W001", "ACME700"), policies=(str(root / "policy.yaml"),)
    )


PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}
"""

# File names every format must carry: URI-reserved characters, non-ASCII, a name that is not
# UTF-8 (Python holds its byte as a lone surrogate, which no UTF-8 encoder writes).
ODD_FILE_NAMES = (
    b"with space.yaml", b"hash#frag.yaml", b"pct%20x.yaml", b"colon:x.yaml", b"q'u\"o&t<e>.yaml",
    "\u00fcn\u00efcode\u20ac.yaml".encode(), "emoji\U0001f600.yaml".encode(), b"bad\xff\xfe.yaml",
)  # fmt: skip


@pytest.fixture(scope="session")
def odd_files_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """A finding in each file of ``ODD_FILE_NAMES``, scanned by absolute path."""
    root: Path = tmp_path_factory.mktemp("odd files")
    for name in ODD_FILE_NAMES:
        (root / os.fsdecode(name)).write_text(PRIVILEGED_POD)
    return scan_paths([root], select=("W001",))
