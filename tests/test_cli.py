"""The command line: exit codes, formats and outputs, rule docs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kubeward.cli.scan import pair_outputs
from kubeward.errors import UsageError
from tests.cli_helpers import kubeward

PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  serviceAccountName: p
  containers:
    - name: c
      image: registry.corp.example/c:1
      securityContext: {privileged: true}
"""
NO_NAMESPACE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "pod.yaml").write_text(PRIVILEGED)
    return tmp_path


def test_exit_codes(repo: Path) -> None:
    only = ("--select", "W001,N001")  # the pod is privileged, and in namespace shop
    assert kubeward("scan", "deploy", *only, cwd=repo).code == 1
    assert kubeward("scan", "deploy", *only, "--fail-on", "critical", cwd=repo).code == 0
    assert kubeward("scan", "deploy", *only, "--exit-zero", cwd=repo).code == 0
    assert kubeward("scan", "deploy", *only, "--fail-on", "never", cwd=repo).code == 0
    assert kubeward("scan", "deploy", "--select", "N001", cwd=repo).code == 0
    assert kubeward("scan", "deploy", *only, "--ignore", "W001", cwd=repo).code == 0
    bad = kubeward("scan", "deploy", "--fail-on", "urgent", cwd=repo)
    assert bad.code == 2 and "--fail-on" in bad.stderr


def test_a_selection_that_leaves_no_rule_is_an_error_not_a_pass(repo: Path) -> None:
    """ignore wins over select: with nothing left to run, the scan would pass anything."""
    (repo / "kubeward.yaml").write_text("select: [W001]\nignore: [W]\n")
    run = kubeward("scan", "deploy", cwd=repo)
    assert (run.code, run.stderr) == (
        2,
        "kubeward: error: no rule left to run: select/ignore in kubeward.yaml exclude every "
        "rule (ignore wins over select)\n",
    )
    (repo / "kubeward.yaml").unlink()
    run = kubeward("scan", "deploy", "--select", "W001", "--ignore", "W0", cwd=repo)
    assert (run.code, run.stderr) == (
        2,
        "kubeward: error: no rule left to run: --select/--ignore exclude every rule (ignore "
        "wins over select)\n",
    )


def test_a_rule_name_given_to_select_names_its_id(repo: Path) -> None:
    run = kubeward("scan", "deploy", "--select", "privileged-container", cwd=repo)
    assert (run.code, run.stderr) == (
        2,
        "kubeward: error: --select/--ignore: 'privileged-container' matches no rule ID "
        "('privileged-container' is rule W001's name: give its ID)\n",
    )


def test_several_formats_in_one_run(repo: Path) -> None:
    run = kubeward(
        "scan",
        "deploy",
        "-f",
        "sarif",
        "-o",
        "out/k.sarif",
        "-f",
        "junit",
        "-o",
        "out/k.xml",
        "-f",
        "table",
        cwd=repo,
    )
    assert run.code == 1
    assert "W001" in run.stdout and run.stdout.rstrip().splitlines()[-1].startswith("FAIL")
    assert json.loads((repo / "out" / "k.sarif").read_text())["version"] == "2.1.0"
    assert (repo / "out" / "k.xml").read_text().startswith("<?xml")


def test_two_formats_cannot_share_stdout(repo: Path) -> None:
    run = kubeward("scan", "deploy", "-f", "json", "-f", "table", cwd=repo)
    assert run.code == 2
    assert "standard output" in run.stderr


def test_two_formats_cannot_share_a_file(repo: Path) -> None:
    for second in ("k.out", "./k.out", str(repo / "k.out")):
        run = kubeward("scan", "deploy", "-f", "json", "-o", "k.out", "-f", "sarif", "-o", second,
                       cwd=repo)  # fmt: skip
        assert run.code == 2
        assert run.stderr.startswith(f"kubeward: error: --output {second}: "), run.stderr
        assert "give each format its own file" in run.stderr
    assert not (repo / "k.out").exists()


def test_a_report_never_overwrites_a_scanned_file(repo: Path) -> None:
    pod = repo / "deploy" / "pod.yaml"
    for args in (("deploy/pod.yaml", "-o", "deploy/pod.yaml"),
                 ("deploy", "-f", "json", "-o", "deploy/pod.yaml"),
                 ("deploy/pod.yaml", "-f", "table", "-o", "./deploy/../deploy/pod.yaml")):  # fmt: skip
        run = kubeward("scan", *args, cwd=repo)
        assert run.code == 2
        assert run.stderr == (
            f"kubeward: error: --output {args[-1]}: deploy/pod.yaml is one of the scanned files; "
            "write the report outside the scanned paths\n"
        )
        assert pod.read_text() == PRIVILEGED
    # a report next to the scanned files, that is not one of them, is written
    assert kubeward("scan", "deploy/pod.yaml", "-o", "deploy/report.json", cwd=repo).code == 1
    assert json.loads((repo / "deploy" / "report.json").read_text())["schemaVersion"]


def test_a_report_never_overwrites_a_hard_link_or_loops(repo: Path) -> None:
    os.link(repo / "deploy" / "pod.yaml", repo / "pod-link.yaml")
    run = kubeward("scan", "deploy", "-o", "pod-link.yaml", "-f", "json", cwd=repo)
    assert run.code == 2 and "deploy/pod.yaml is one of the scanned files" in run.stderr
    assert (repo / "deploy" / "pod.yaml").read_text() == PRIVILEGED
    (repo / "loop.json").symlink_to("loop.json")
    run = kubeward("scan", "deploy", "-o", "loop.json", cwd=repo)
    assert run.code == 2
    assert run.stderr == (
        "kubeward: error: cannot write loop.json: Too many levels of symbolic links\n"
    )


def test_nothing_to_scan_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "web.tpl").write_text("{{ .Values.x }}")
    run = kubeward("scan", "templates", "-f", "json", cwd=tmp_path)
    assert run.code == 2
    (error,) = json.loads(run.stdout)["errors"]
    assert error["message"] == (
        "nothing to scan in templates: no manifests (.yaml, .yml, .json), Helm charts or "
        "Kustomize directories"
    )


def test_a_json_report_inside_the_scanned_directory_is_no_input(repo: Path) -> None:
    """`kubeward scan . -o report.json`, twice: the first report is neither scanned nor a
    reason to refuse the second (any other JSON file there is a scanned file)."""
    for _ in range(2):
        run = kubeward("scan", ".", "--select", "W001", "-o", "report.json", cwd=repo)
        assert run.code == 1, run.stderr
        report = json.loads((repo / "report.json").read_text())
        assert report["summary"]["files"] == 1 and report["warnings"] == []
    (repo / "other.json").write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    refused = kubeward("scan", ".", "-o", "other.json", cwd=repo)
    assert refused.code == 2 and "is one of the scanned files" in refused.stderr


def test_an_output_without_a_format_takes_its_extensions(repo: Path) -> None:
    run = kubeward("scan", "deploy", "-o", "k.json", "-o", "k.sarif", "-o", "k.xml", "-o", "k.html",
                   "-o", "k.txt", cwd=repo)  # fmt: skip
    assert run.code == 1 and run.stdout == ""
    assert json.loads((repo / "k.json").read_text())["tool"]["name"] == "kubeward"
    assert json.loads((repo / "k.sarif").read_text())["version"] == "2.1.0"
    assert (repo / "k.xml").read_text().startswith("<?xml")
    assert (repo / "k.html").read_text().startswith("<!DOCTYPE html>")
    assert (repo / "k.txt").read_text().rstrip().splitlines()[-1].startswith("FAIL")
    # an explicit --format is for its file; the next output without one takes its extension's
    both = kubeward("scan", "deploy", "-f", "table", "-o", "t.log", "-o", "j.json", cwd=repo)
    assert (repo / "t.log").read_text().rstrip().splitlines()[-1].startswith("FAIL")
    assert json.loads((repo / "j.json").read_text())["schemaVersion"] and both.code == 1
    unknown = kubeward("scan", "deploy", "-o", "k.out", cwd=repo)
    assert unknown.code == 2 and not (repo / "k.out").exists()
    assert unknown.stderr.startswith("kubeward: error: --output k.out: give its --format")


def test_formats_and_outputs_pair_in_command_line_order(repo: Path) -> None:
    """An -f is for the -o right after it; an -o with none takes its extension's format, even
    when an -f for another file comes before it (it used to take that one: JSON in a .sarif)."""
    run = kubeward("scan", "deploy", "-o", "s.sarif", "-f", "json", "-o", "s.json", cwd=repo)
    assert run.code == 2 and not (repo / "s.sarif").exists()  # -f json: for s.sarif or s.json?
    assert "'-f json -o s.json -o s.sarif'" in run.stderr
    run = kubeward("scan", "deploy", "-f", "json", "-o", "s.json", "-o", "s.sarif", cwd=repo)
    assert run.code == 1 and run.stdout == ""
    assert json.loads((repo / "s.sarif").read_text())["version"] == "2.1.0"
    assert json.loads((repo / "s.json").read_text())["schemaVersion"]
    run = kubeward("scan", "deploy", "-o", "r.sarif", "-o", "r.xml", "-o", "r.htm", "-f", "json",
                   "-o", "-", cwd=repo)  # fmt: skip
    assert run.code == 2 and run.stdout == "" and not (repo / "r.sarif").exists()
    assert "'-f json -o - -o r.htm'" in run.stderr
    run = kubeward("scan", "deploy", "-f", "json", "--select", "W001", "-o", "-", "-o", "r.sarif",
                   "-o", "r.xml", "-o", "r.htm", "-o", "r.txt", cwd=repo)  # fmt: skip
    assert run.code == 1 and json.loads(run.stdout)["schemaVersion"]
    assert json.loads((repo / "r.sarif").read_text())["version"] == "2.1.0"
    assert (repo / "r.xml").read_text().startswith("<?xml")
    assert (repo / "r.htm").read_text().startswith("<!DOCTYPE html>")
    assert (repo / "r.txt").read_text().rstrip().splitlines()[-1].startswith("FAIL")
    # -o FILE -f FORMAT, in every spelling of the options, and throughout a line
    for args in (("-o", "x.out", "-f", "json"), ("--output=x.out", "--format=json"),
                 ("-ox.out", "-fjson"), ("-o", "x.out", "-f", "json", "-f", "table"),
                 ("-o", "x.out", "-f", "json", "-o", "y.out", "-f", "sarif")):  # fmt: skip
        run = kubeward("scan", "deploy", *args, cwd=repo)
        assert run.code == 1 and json.loads((repo / "x.out").read_text())["schemaVersion"], args
        assert run.stdout == "" if "table" not in args else "FAIL" in run.stdout
    assert json.loads((repo / "y.out").read_text())["version"] == "2.1.0"


def test_a_format_that_contradicts_its_files_extension_is_refused(repo: Path) -> None:
    run = kubeward("scan", "deploy", "-f", "json", "-o", "k.sarif", cwd=repo)
    assert run.code == 2 and not (repo / "k.sarif").exists()
    assert run.stderr == (
        "kubeward: error: -f json -o k.sarif: a .sarif file is for sarif, not json; give "
        "-f sarif, or a file name for json (.json)\n"
    )
    run = kubeward("scan", "deploy", "-o", "k.json", "-f", "table", cwd=repo)
    assert run.code == 2 and "for table on standard output: -f table -o - -o k.json" in run.stderr
    # SARIF is JSON, and a .txt file takes any report
    run = kubeward("scan", "deploy", "-f", "sarif", "-o", "k.json", "-f", "json", "-o", "k.txt",
                   cwd=repo)  # fmt: skip
    assert run.code == 1 and json.loads((repo / "k.json").read_text())["version"] == "2.1.0"
    assert json.loads((repo / "k.txt").read_text())["schemaVersion"]


@pytest.mark.parametrize(
    ("options", "pairs"),
    [
        ((), [("table", None)]),
        ((("-f", "json"),), [("json", None)]),
        ((("-o", "-"),), [("table", None)]),
        ((("-f", "sarif"), ("-o", "a.sarif"), ("-f", "junit"), ("-o", "a.xml"), ("-f", "table")),
         [("sarif", "a.sarif"), ("junit", "a.xml"), ("table", None)]),
        ((("-f", "json"), ("-f", "table"), ("-o", "t.txt")), [("json", None), ("table", "t.txt")]),
        ((("-o", "a.sarif"), ("-o", "b.out"), ("-f", "json")),
         [("sarif", "a.sarif"), ("json", "b.out")]),
        ((("-o", "a.sarif"), ("-f", "sarif"), ("-f", "table")),
         [("sarif", "a.sarif"), ("table", None)]),
        ((("-f", "html"), ("-o", "-"), ("-o", "a.json")), [("html", None), ("json", "a.json")]),
        ((("-o", "a.out"), ("-f", "json"), ("-o", "b.out"), ("-f", "sarif")),
         [("json", "a.out"), ("sarif", "b.out")]),
    ],
)  # fmt: skip
def test_pair_outputs(options: tuple[tuple[str, str], ...], pairs: list[object]) -> None:
    assert pair_outputs(options) == pairs


@pytest.mark.parametrize(
    "options",
    [
        (("-o", "a.out"), ("-f", "json"), ("-o", "b.out")),  # json for a.out or for b.out?
        (("-o", "a.out"), ("-f", "json"), ("-o", "b.out"), ("-f", "sarif"), ("-f", "html")),
        (("-f", "json"), ("-o", "a.xml")),
        (("-o", "a.html"), ("-f", "junit")),
        (("-o", "a.out"),),
        (("-f", "json"), ("-o", "-"), ("-o", "-")),
    ],
)
def test_pair_outputs_refuses_what_it_would_have_to_guess(
    options: tuple[tuple[str, str], ...],
) -> None:
    with pytest.raises(UsageError):
        pair_outputs(options)


def test_a_file_named_twice_is_scanned_once(repo: Path) -> None:
    for paths in (("deploy/pod.yaml", "deploy/pod.yaml"), ("deploy/pod.yaml", "deploy"),
                  ("deploy", "./deploy/pod.yaml", str(repo / "deploy"))):  # fmt: skip
        run = kubeward("scan", *paths, "--select", "W001", "-f", "json", cwd=repo)
        report = json.loads(run.stdout)
        assert (report["summary"]["files"], report["summary"]["objects"]) == (1, 1), paths
        assert [f["file"] for f in report["findings"]] == ["deploy/pod.yaml"]


def test_an_empty_rule_id_in_select_or_ignore_is_an_error(repo: Path) -> None:
    for args in (("--select", ","), ("--select", "W001,"), ("--select", ""), ("--ignore", ",")):
        run = kubeward("scan", "deploy", *args, cwd=repo)
        assert run.code == 2
        assert run.stderr == f"kubeward: error: {args[0]}: an empty rule ID in {args[1]!r}\n"


def test_config_found_next_to_the_scanned_repo(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (repo / ".git").mkdir()
    (repo / "kubeward.yaml").write_text("select: [W001, N001]\nignore: [W001]\n")
    elsewhere = tmp_path_factory.mktemp("cwd")
    run = kubeward("scan", repo / "deploy", "-f", "json", cwd=elsewhere)
    report = json.loads(run.stdout)
    assert report["scan"]["config"].endswith("kubeward.yaml")
    assert "W001" not in {r["id"] for r in report["rules"]}
    assert run.code == 0
    assert run.stderr == ""  # the repository's own configuration: nothing to point out


def test_paths_leading_to_different_configs_are_an_error(tmp_path: Path) -> None:
    for name, config in (("repo", "ignore: [W001]\n"), ("repo2", "select: [N001]\n")):
        (tmp_path / name / ".git").mkdir(parents=True)
        (tmp_path / name / "kubeward.yaml").write_text(config)
        (tmp_path / name / "deploy").mkdir()
        (tmp_path / name / "deploy" / "pod.yaml").write_text(PRIVILEGED)
    run = kubeward("scan", "repo/deploy", "repo2", cwd=tmp_path)
    assert run.code == 2
    assert run.stderr == (
        "kubeward: error: the scanned paths have different configuration files: "
        "repo/kubeward.yaml (for repo/deploy) and repo2/kubeward.yaml (for repo2); "
        "pass --config FILE to use one for all, or scan them separately\n"
    )
    chosen = kubeward("scan", "repo/deploy", "repo2", "-c", "repo2/kubeward.yaml", "-f", "json",
                      cwd=tmp_path)  # fmt: skip
    assert [r["id"] for r in json.loads(chosen.stdout)["rules"]] == ["N001"]
    # paths of one repository, and a path with no configuration of its own, share it
    (tmp_path / "loose.yaml").write_text(PRIVILEGED)
    same = kubeward("scan", "repo/deploy", "repo/deploy/pod.yaml", "loose.yaml", "-f", "json",
                    cwd=tmp_path)  # fmt: skip
    report = json.loads(same.stdout)
    assert report["scan"]["config"] == "repo/kubeward.yaml"
    assert "W001" not in {r["id"] for r in report["rules"]}


def test_a_config_found_above_outside_a_repository_is_named(tmp_path: Path) -> None:
    (tmp_path / "kubeward.yaml").write_text("select: [N001]\n")
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "pod.yaml").write_text(PRIVILEGED)
    (tmp_path / "elsewhere").mkdir()
    run = kubeward("scan", tmp_path / "chart", "-f", "json", cwd=tmp_path / "elsewhere")
    assert json.loads(run.stdout)["scan"]["config"] == str(tmp_path / "kubeward.yaml")
    assert run.stderr == (
        f"kubeward: using {tmp_path / 'kubeward.yaml'}, found above {tmp_path / 'chart'} "
        "(outside any git repository); --config FILE chooses another\n"
    )
    assert "using" in kubeward("scan", cwd=tmp_path / "chart").stderr
    # in the working directory, or next to the scanned files: no need to say
    assert kubeward("scan", "chart", cwd=tmp_path).stderr == ""
    (tmp_path / "top.yaml").write_text(PRIVILEGED)
    assert kubeward("scan", tmp_path / "top.yaml", cwd=tmp_path / "chart").stderr == ""


def test_deploy_namespace_from_flag_and_helm_env(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(NO_NAMESPACE)
    assert kubeward("scan", "cm.yaml", cwd=tmp_path).code == 1
    assert kubeward("scan", "cm.yaml", "--namespace", "payments", cwd=tmp_path).code == 0
    assert kubeward("scan", "cm.yaml", "-n", "default", cwd=tmp_path).code == 1


@pytest.mark.parametrize("name", ["Bad_NS!", "Payments", "-shop", "a" * 64])
def test_a_namespace_that_cannot_exist_is_a_usage_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "cm.yaml").write_text(NO_NAMESPACE)
    run = kubeward("scan", "cm.yaml", "-n", name, cwd=tmp_path)
    assert run.code == 2 and "is not a namespace name" in run.stderr, run.stderr
    (tmp_path / "kubeward.yaml").write_text(f"namespace: {name}\n")
    run = kubeward("scan", "cm.yaml", cwd=tmp_path)
    assert run.code == 2 and "kubeward.yaml:1: namespace:" in run.stderr, run.stderr


def test_helm_namespace_environment_variable(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "cm.yaml").write_text(NO_NAMESPACE)
    env = {**os.environ, "HELM_NAMESPACE": "payments"}
    done = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", "cm.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_rules_and_rule_pages() -> None:
    listing = kubeward("rules", "--format", "json")
    rules = json.loads(listing.stdout)
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    page = kubeward("rule", "W001")
    assert (
        page.code == 0 and page.stdout.startswith("<!--") and "## Why is this bad?" in page.stdout
    )
    assert kubeward("rule", "privileged-container").stdout == page.stdout
    missing = kubeward("rule", "Z999")
    assert missing.code == 2 and "no rule" in missing.stderr
    assert "| [W001](W001.md)" in kubeward("rules", "--format", "markdown").stdout


def test_schema_and_version() -> None:
    assert json.loads(kubeward("schema").stdout)["$id"].endswith("report-v1.json")
    assert kubeward("--version").stdout.startswith("kubeward, version")


SYSCTL_1_29 = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  securityContext:
    sysctls: [{name: net.ipv4.tcp_keepalive_time, value: "600"}]
  containers: [{name: c, image: busybox}]
"""


def test_kube_version_sets_the_version_objects_are_judged_for(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(SYSCTL_1_29)
    only = ("--select", "W013", "-f", "json")
    assert kubeward("scan", "pod.yaml", *only, cwd=tmp_path).code == 0  # safe since 1.29
    older = kubeward("scan", "pod.yaml", *only, "--kube-version", "v1.28.4", cwd=tmp_path)
    assert older.code == 1
    assert [f["ruleId"] for f in json.loads(older.stdout)["findings"]] == ["W013"]
    (tmp_path / "kubeward.yaml").write_text('kubernetesVersion: "1.28"\n')
    assert kubeward("scan", "pod.yaml", *only, cwd=tmp_path).code == 1
    assert kubeward("scan", "pod.yaml", *only, "--kube-version", "1.30", cwd=tmp_path).code == 0
    bad = kubeward("scan", "pod.yaml", "--kube-version", "banana", cwd=tmp_path)
    assert bad.code == 2
    assert "--kube-version" in bad.stderr
