"""Helm charts and Kustomize directories, rendered by the real tools (built by `make tools`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import kubeward
from tests.conftest import require_tool

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "values.yaml": "image: registry.corp.example/web:1.0\nprivileged: false\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: {{ .Values.image }}
          securityContext:
            privileged: {{ .Values.privileged }}
""",
    "templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports: [{port: 80}]\n",
}


def make_chart(root: Path) -> Path:
    chart = root / "chart"
    for name, text in CHART.items():
        path = chart / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return chart


def test_helm_chart_findings_point_at_templates(tmp_path: Path) -> None:
    require_tool("helm")
    make_chart(tmp_path)
    run = kubeward(
        "scan", "chart", "--helm-set", "privileged=true", "-n", "web", "-f", "json",
        "--select", "W001", cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(run.stdout)
    assert run.code == 1, run.stderr
    (finding,) = report["findings"]
    assert finding["ruleId"] == "W001"
    assert finding["file"] == "chart/templates/deployment.yaml"
    assert finding["line"] == 13
    assert finding["renderedFrom"]["tool"] == "helm"
    assert report["summary"]["objects"] == 3


def test_helm_values_files_and_the_namespace(tmp_path: Path) -> None:
    require_tool("helm")
    make_chart(tmp_path)
    (tmp_path / "prod.yaml").write_text("privileged: true\n")
    run = kubeward("scan", "chart", "--helm-values", "prod.yaml", "-f", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    ids = sorted((f["ruleId"], f["file"], f["line"]) for f in report["findings"])
    # no --namespace: every object is judged as landing in `default`
    assert ("N001", "chart/templates/config.yaml", 3) in ids
    assert ("N001", "chart/templates/config.yaml", 10) in ids
    assert ("W001", "chart/templates/deployment.yaml", 13) in ids


def test_helm_render_failure_is_loud(tmp_path: Path) -> None:
    require_tool("helm")
    chart = make_chart(tmp_path)
    (chart / "templates" / "broken.yaml").write_text("{{ .Values.missing.field }}\n")
    (tmp_path / "ok.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\n"
    )
    run = kubeward("scan", ".", "-f", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert run.code == 2
    (error,) = report["errors"]
    # Helm names the template and its line ("template: web/templates/broken.yaml:1:19: ...")
    assert error["kind"] == "render" and error["file"] == "chart/templates/broken.yaml"
    assert error["line"] == 1
    assert "nil pointer" in error["message"] or "missing" in error["message"]
    assert report["summary"]["objects"] == 1


def test_helm_output_problems_point_at_the_template(tmp_path: Path) -> None:
    """A duplicate key that a template renders is reported in the template, at its lines."""
    require_tool("helm")
    chart = make_chart(tmp_path)
    (chart / "templates" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: '1'\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n"
        '  password: {{ .Values.password | default "a" | quote }}\n  password: b\n'
    )
    run = kubeward("scan", "chart", "-n", "web", "-f", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    (error,) = report["errors"]
    assert (error["kind"], error["file"], error["line"]) == (
        "parse", "chart/templates/secret.yaml", 14,
    )  # fmt: skip
    assert "duplicate key stringData.password (also on line 13)" in error["message"]
    assert "helm template chart, rendered line" in error["message"]


def test_kustomize_findings_point_at_resource_files(tmp_path: Path) -> None:
    require_tool("kustomize")
    base = tmp_path / "base"
    overlay = tmp_path / "overlays" / "prod"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    (base / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: api\n          image: registry.corp.example/api:1\n"
    )
    (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (overlay / "kustomization.yaml").write_text(
        "resources: [../../base]\nnamePrefix: prod-\nnamespace: prod\n"
        "configMapGenerator:\n- name: settings\n  literals: [a=b]\n"
    )
    run = kubeward("scan", "overlays/prod", "-f", "json", "--select", "A001", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert run.code == 1, run.stderr
    (finding,) = report["findings"]
    assert (finding["ruleId"], finding["object"]["name"], finding["object"]["namespace"]) == (
        "A001",
        "prod-api",
        "prod",
    )
    assert finding["file"] == "base/deploy.yaml"
    assert finding["line"] == 7
    assert finding["renderedFrom"] == {
        "tool": "kustomize",
        "root": "overlays/prod",
        "renderedLine": None,
    }


def test_kustomize_failure_is_loud(tmp_path: Path) -> None:
    require_tool("kustomize")
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    run = kubeward("scan", ".", "-f", "json", cwd=tmp_path)
    assert run.code == 2
    report = json.loads(run.stdout)
    assert report["errors"][0]["kind"] == "render"


@pytest.mark.parametrize("tool", ["helm", "kustomize"])
def test_missing_renderer_is_an_error_not_a_silent_skip(tmp_path: Path, tool: str) -> None:
    if tool == "helm":
        make_chart(tmp_path)
    else:
        (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    env = {
        "KUBEWARD_HELM": "/nonexistent/helm",
        "KUBEWARD_KUSTOMIZE": "/nonexistent/kustomize",
        "KUBEWARD_KUBECTL": "/nonexistent/kubectl",
    }
    run = kubeward("scan", ".", "-f", "json", cwd=tmp_path, env=env)
    assert run.code == 2
    assert "not installed" in json.loads(run.stdout)["errors"][0]["message"]


PODS = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: a
spec:
  containers:
  - name: c
    image: nginx:1
---
apiVersion: v1
kind: Pod
metadata:
  name: web-admin
  namespace: a
spec:
  hostNetwork: true
  containers:
  - name: c
    image: nginx:1
    securityContext:
      privileged: true
"""


def _where(report: dict[str, object]) -> list[tuple[str, str, str, int]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return sorted((f["ruleId"], f["object"]["name"], f["file"], f["line"]) for f in findings)


@pytest.mark.parametrize(
    ("kustomization", "rendered"),
    [
        ("", "web-admin"),
        ("namePrefix: prod-\n", "prod-web-admin"),
        # `web` becomes `web-admin`: the same name as the other resource, which is not the source
        ("nameSuffix: -admin\n", "web-admin-admin"),
    ],
)
def test_kustomize_findings_point_at_the_document_of_their_object(
    tmp_path: Path, kustomization: str, rendered: str
) -> None:
    require_tool("kustomize")
    (tmp_path / "pods.yaml").write_text(PODS)
    (tmp_path / "kustomization.yaml").write_text(f"resources: [pods.yaml]\n{kustomization}")
    run = kubeward("scan", ".", "-f", "json", "--select", "W001,W004", cwd=tmp_path)
    assert run.code == 1, run.stderr
    assert _where(json.loads(run.stdout)) == [
        ("W001", rendered, "pods.yaml", 22),
        ("W004", rendered, "pods.yaml", 17),
    ]


def test_kustomize_findings_in_a_list_resource_point_at_the_item(tmp_path: Path) -> None:
    require_tool("kustomize")
    items = "".join(f"  {line}\n" if line else "\n" for line in PODS.split("---\n")[1].splitlines())
    items = items.replace("  apiVersion", "- apiVersion", 1)
    (tmp_path / "list.yaml").write_text(f"apiVersion: v1\nkind: List\nitems:\n{items}")
    (tmp_path / "kustomization.yaml").write_text("resources: [list.yaml]\n")
    run = kubeward("scan", ".", "-f", "json", "--select", "W001,W004", cwd=tmp_path)
    assert run.code == 1, run.stderr
    assert _where(json.loads(run.stdout)) == [
        ("W001", "web-admin", "list.yaml", 15),
        ("W004", "web-admin", "list.yaml", 10),
    ]


def test_unparseable_kustomization_is_named(tmp_path: Path) -> None:
    require_tool("kustomize")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text(
        "resources:\n- pods.yaml\npatches:\n  - path: [oops\n"
    )
    (tmp_path / "kustomization.yaml").write_text("resources: [base]\n")
    for root, file in ((".", "base/kustomization.yaml"), ("base", "base/kustomization.yaml")):
        run = kubeward("scan", root, "-f", "json", cwd=tmp_path)
        assert run.code == 2
        (error,) = json.loads(run.stdout)["errors"]
        assert (error["kind"], error["file"], error["line"]) == ("render", file, 4)


def test_manifests_beside_a_chart_are_a_warning_not_a_silent_skip(tmp_path: Path) -> None:
    require_tool("helm")
    chart = make_chart(tmp_path)
    for name in ("k8s/pod.yaml", "values-x.yaml", ".hidden/pod.yaml"):
        (chart / name).parent.mkdir(exist_ok=True)
        (chart / name).write_text(PODS)
    (chart / "docs.yaml").write_text("title: not a manifest\n")
    run = kubeward("scan", "chart", "-n", "web", "-f", "json", "--select", "W001", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert run.code == 0, run.stderr  # a warning: the exit code is still the findings'
    assert report["findings"] == []
    (warning,) = report["warnings"]
    assert warning["file"] == "chart/k8s/pod.yaml"
    assert "not scanned" in warning["message"]
    assert "kubeward scan chart chart/k8s/pod.yaml" in warning["message"]
    # named, it is scanned, and no longer a warning
    run = kubeward("scan", "chart", "chart/k8s/pod.yaml", "-f", "json", "--select", "W001",
                   cwd=tmp_path)  # fmt: skip
    report = json.loads(run.stdout)
    assert report["warnings"] == []
    assert _where(report) == [("W001", "web-admin", "chart/k8s/pod.yaml", 22)]
