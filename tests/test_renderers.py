"""Helm charts and Kustomize directories, rendered by the real tools (built by `make tools`)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from kubeward.sources import helm
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


def test_helm_lines_after_a_value_with_a_unicode_line_separator(tmp_path: Path) -> None:
    # NEL, LS and PS are no line breaks to an editor, nor to kubeward's line numbers;
    # str.splitlines counted them in the rendered output, and every later line was one off
    template = tmp_path / "cm.yaml"
    text = "kind: ConfigMap\nmetadata:\n  annotations: {note: {{ .Values.note | quote }}}\n"
    template.write_text(text + "  name: x\ndata:\n  a: b\n")
    rendered = template.read_text().replace("{{ .Values.note | quote }}", '"caf\u2028\u0085e"')
    output = f"---\n# Source: c/templates/cm.yaml\n{rendered}".encode()
    lines = helm.TemplateLines.load(output, 1, str(template))
    assert lines is not None
    assert [lines.map(line) for line in range(3, 9)] == [1, 2, 3, 4, 5, 6]


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


def write_chart(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def findings(run_dir: Path, *args: str) -> list[tuple[str, str, int | None, str]]:
    run = kubeward("scan", *args, "-f", "json", cwd=run_dir)
    report = json.loads(run.stdout)
    assert not report["errors"], report["errors"]
    return sorted((f["ruleId"], f["file"], f["line"], f["path"]) for f in report["findings"])


# The `helm create` scaffold's pod spec: `{{- with }}` blocks and toYaml values above the
# container's own securityContext.
SCAFFOLD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        app: web
    spec:
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      serviceAccountName: web
      {{- with .Values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: web
          {{- with .Values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          image: "{{ .Values.image }}"
"""


@pytest.mark.parametrize("extra", [[], ["--helm-set", "podAnnotations.a=b"]])
def test_helm_lines_written_by_toyaml_point_at_their_block(
    tmp_path: Path, extra: list[str]
) -> None:
    """Lines an action wrote map to that action, not to a line at the same rendered offset
    (which was the pod's serviceAccountName / securityContext)."""
    require_tool("helm")
    write_chart(
        tmp_path / "chart",
        {
            "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "values.yaml": "image: nginx:1\npodAnnotations: {}\nimagePullSecrets: []\n"
            "podSecurityContext: {}\nsecurityContext: {}\n",
            "templates/deployment.yaml": SCAFFOLD,
        },
    )
    sets = ["securityContext.privileged=true", "securityContext.runAsUser=0"]
    args = [a for s in sets for a in ("--helm-set", s)]
    found = findings(tmp_path, "chart", "--select", "W001,W017", *args, *extra)
    container = "spec.template.spec.containers[0].securityContext"
    assert found == [
        ("W001", "chart/templates/deployment.yaml", 28, f"{container}.privileged"),
        ("W017", "chart/templates/deployment.yaml", 28, f"{container}.runAsUser"),
    ]


def test_helm_repeated_lines_map_to_their_own_container(tmp_path: Path) -> None:
    """Two containers with identical lines, below a block that renders to nothing: each
    container's findings are on its own lines."""
    require_tool("helm")
    annotations = "".join(f'        a{i}: "{i}"\n' for i in range(8))
    write_chart(
        tmp_path / "chart",
        {
            "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            "  name: web\nspec:\n  template:\n    metadata:\n"
            "      {{- with .Values.podAnnotations }}\n      annotations:\n"
            f"{annotations}      {{{{- end }}}}\n"
            "    spec:\n      containers:\n"  # line 19
            "      - name: app\n        image: nginx:1.25\n"  # 21, 22
            "        securityContext:\n          runAsUser: 1000\n"  # 23, 24
            "      - name: sidecar\n        image: nginx:1.25\n"  # 25, 26
            "        securityContext:\n          runAsUser: 0\n",  # 27, 28
        },
    )
    found = findings(tmp_path, "chart", "--select", "I002,W017")
    assert found == [
        ("I002", "chart/templates/deploy.yaml", 22, "spec.template.spec.containers[0].image"),
        ("I002", "chart/templates/deploy.yaml", 26, "spec.template.spec.containers[1].image"),
        (
            "W017",
            "chart/templates/deploy.yaml",
            28,
            "spec.template.spec.containers[1].securityContext.runAsUser",
        ),
    ]


def test_helm_documents_read_by_the_exact_loader_map_to_their_lines(tmp_path: Path) -> None:
    """YAML 1.1 scalars (`yes`, `0644`) send a document to the exact loader, whose documents
    start at their first content line: the lines were off by the `---` / `# Source:` head."""
    require_tool("helm")
    chart = write_chart(
        tmp_path / "chart",
        {
            "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
            "templates/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
            "  namespace: ns\nspec:\n  containers:\n  - name: c\n    image: nginx:1\n"
            "    securityContext:\n      runAsUser: 0\n      privileged: yes\n"
            "  volumes:\n  - name: v\n    configMap:\n      name: x\n      defaultMode: 0644\n",
        },
    )
    run = kubeward(
        "scan", "chart", "-n", "ns", "-f", "json", "--select", "W001,W017,I002", cwd=tmp_path
    )
    report = json.loads(run.stdout)
    found = sorted((f["ruleId"], f["file"], f["line"]) for f in report["findings"])
    assert found == [
        ("I002", "chart/templates/pod.yaml", 9),
        ("W001", "chart/templates/pod.yaml", 12),
        ("W017", "chart/templates/pod.yaml", 11),
    ]
    # renderedLine is where the object starts in Helm's output: its "---" line
    output = helm.render(str(chart), namespace="ns", options=helm.HelmOptions()).decode()
    lines = output.split("\n")
    rendered = {f["renderedFrom"]["renderedLine"] for f in report["findings"]}
    (line,) = rendered
    assert line > 1  # the Pod comes after the ConfigMap
    assert lines[line - 1] == "---"
    assert lines[line] == "# Source: web/templates/pod.yaml"


SUB_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: sub-pod
spec:
  hostPID: true
  containers:
  - name: r
    image: {{ required "image" .Values.image }}
"""


def make_parent_chart(root: Path, cache: str = "nginx:1", pkg: str = "nginx:1") -> Path:
    """A chart with an aliased subchart directory (`cache`, a `sub` chart in `charts/sub-dir`)
    and a packaged one (`charts/pkg-0.1.0.tgz`)."""
    chart = write_chart(
        root / "parent",
        {
            "Chart.yaml": "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n"
            "  - name: sub\n    version: 0.1.0\n    alias: cache\n"
            "  - name: pkg\n    version: 0.1.0\n",
            "values.yaml": f"cache:\n  image: {cache}\npkg:\n  image: {pkg}\n",
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
            "charts/sub-dir/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            "charts/sub-dir/templates/pod.yaml": SUB_POD,
        },
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in {
            "pkg/Chart.yaml": "apiVersion: v2\nname: pkg\nversion: 0.1.0\n",
            "pkg/templates/pod.yaml": SUB_POD.replace("sub-pod", "pkg-pod"),
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    (chart / "charts" / "pkg-0.1.0.tgz").write_bytes(buffer.getvalue())
    return chart


def test_helm_aliased_and_packaged_subcharts_name_real_files(tmp_path: Path) -> None:
    """Helm names an aliased subchart by its alias and a packaged one as a directory: the
    aliased one is found through Chart.yaml (at its template's line), the packaged one is
    its .tgz, without a line (no rendered line against a template path)."""
    require_tool("helm")
    make_parent_chart(tmp_path)
    assert findings(tmp_path, "parent", "-n", "ns", "--select", "W002") == [
        ("W002", "parent/charts/pkg-0.1.0.tgz", None, "spec.hostPID"),
        ("W002", "parent/charts/sub-dir/templates/pod.yaml", 6, "spec.hostPID"),
    ]


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ("cache", ("parent/charts/sub-dir/templates/pod.yaml", 9)),
        ("pkg", ("parent/charts/pkg-0.1.0.tgz", None)),
    ],
)
def test_helm_render_errors_in_subcharts_name_real_files(
    tmp_path: Path, broken: str, where: tuple[str, int | None]
) -> None:
    require_tool("helm")
    make_parent_chart(tmp_path, **{broken: '""'})
    run = kubeward("scan", "parent", "-f", "json", cwd=tmp_path)
    (error,) = json.loads(run.stdout)["errors"]
    assert (error["kind"], error["file"], error["line"]) == ("render", *where)
    assert "image" in error["message"]


def test_helm_template_paths_resolve_through_aliases(tmp_path: Path) -> None:
    chart = make_parent_chart(tmp_path)
    assert helm.template_file(str(chart), "parent/charts/cache/templates/pod.yaml") == (
        str(chart / "charts/sub-dir/templates/pod.yaml"),
        True,
    )
    assert helm.template_file(str(chart), "parent/charts/pkg/templates/pod.yaml") == (
        str(chart / "charts/pkg-0.1.0.tgz"),
        False,
    )
    assert helm.template_file(str(chart), "parent/templates/gone.yaml") == (str(chart), False)


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


def test_kustomize_inflates_the_helm_charts_it_declares(tmp_path: Path) -> None:
    # `helmCharts:` (as Argo CD builds overlays): kustomize refuses them without --enable-helm
    require_tool("kustomize")
    require_tool("helm")
    make_chart(tmp_path / "overlay" / "charts")  # the chart vendored where kustomize looks
    (tmp_path / "overlay" / "charts" / "chart").rename(tmp_path / "overlay" / "charts" / "web")
    (tmp_path / "overlay" / "kustomization.yaml").write_text(
        "helmCharts:\n  - name: web\n    releaseName: shop\n    valuesInline: {privileged: true}\n"
    )
    run = kubeward("scan", "overlay", "--select", "W001", "-f", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert run.code == 1, run.stderr
    assert report["errors"] == []
    ((name, file),) = {(f["object"]["name"], f["file"]) for f in report["findings"]}
    assert name == "shop-web" and file == "overlay/kustomization.yaml"
    # without helm, the reason is said
    env = {"KUBEWARD_HELM": "/nonexistent/helm"}
    refused = kubeward("scan", "overlay", "-f", "json", cwd=tmp_path, env=env)
    assert refused.code == 2
    (error,) = json.loads(refused.stdout)["errors"]
    assert "inflates Helm charts (helmCharts:), but helm is not installed" in error["message"]


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
