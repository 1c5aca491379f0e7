"""Bad input: a precise message (file:line), the rest still processed, exit 2, no traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kubeward.config import load_config
from kubeward.errors import ConfigError
from tests.cli_helpers import kubeward

GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: shop\ndata: {a: b}\n"


def scan_json(
    tmp_path: Path, *extra: str, stdin: bytes | None = None
) -> tuple[int, dict[str, Any], str]:
    run = kubeward("scan", *extra, "-f", "json", stdin=stdin, cwd=tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    return run.code, json.loads(run.stdout), run.stderr


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_malformed_yaml_is_reported_with_line_and_other_files_are_scanned(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 2
    (error,) = report["errors"]
    assert error["file"] == "bad.yaml"
    assert error["line"] == 5 or error["line"] == 4
    assert report["summary"]["objects"] == 1


def test_one_bad_document_does_not_lose_the_others_in_the_same_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "mixed.yaml",
        GOOD + "---\nkey: [oops\n---\n" + GOOD.replace("name: ok", "name: two"),
    )
    code, report, _ = scan_json(tmp_path, "mixed.yaml")
    assert code == 2
    assert report["summary"]["objects"] == 2
    assert [e["line"] for e in report["errors"]] == [9]


def test_alias_bomb(tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        prev, cur = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n---\n" + GOOD)
    code, report, _ = scan_json(tmp_path, "bomb.yaml")
    assert code == 2
    assert "alias bomb" in report["errors"][0]["message"]
    assert report["summary"]["objects"] == 1


def test_thousand_level_nesting(tmp_path: Path) -> None:
    block = "".join(" " * (2 * i) + "k:\n" for i in range(1000)) + " " * 2000 + "v\n"
    write(
        tmp_path, "deep.yaml", block + "---\n" + "x: " + "[" * 1000 + "]" * 1000 + "\n---\n" + GOOD
    )
    code, report, _ = scan_json(tmp_path, "deep.yaml")
    assert code == 2
    assert len(report["errors"]) == 2
    assert all("nesting" in e["message"] or "depth" in e["message"] for e in report["errors"])
    assert report["summary"]["objects"] == 1


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    write(tmp_path, "image.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(tmp_path, "latin1.yaml", "metadata:\n  name: caf\xe9\n".encode("latin-1"))
    write(tmp_path, "utf16.yaml", GOOD.encode("utf-16"))
    write(tmp_path, "good.yaml", GOOD)
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 2
    messages = {e["file"]: e for e in report["errors"]}
    assert "binary" in messages["image.yaml"]["message"]
    assert "UTF-8" in messages["latin1.yaml"]["message"]
    assert messages["latin1.yaml"]["line"] == 2
    assert "UTF-16" in messages["utf16.yaml"]["message"]
    assert report["summary"]["objects"] == 1


def test_a_nul_byte_far_into_a_text_file_is_reported_at_its_line(tmp_path: Path) -> None:
    padding = "".join(f"# line {i}\n" for i in range(2000))  # ~18 KB: past the binary sniff
    write(tmp_path, "late.yaml", padding + "data:\n  a: b\x00c\n")
    write(tmp_path, "good.yaml", GOOD)
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 2
    (error,) = report["errors"]
    assert (error["file"], error["line"]) == ("late.yaml", 2002)
    assert "NUL byte" in error["message"]
    assert report["summary"]["objects"] == 1


PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
spec:
  containers:
  - name: c
    image: nginx
    securityContext:
      privileged: true
"""


def privileged_lines(report: dict[str, Any]) -> list[tuple[str, int]]:
    return [(f["file"], f["line"]) for f in report["findings"] if f["ruleId"] == "W001"]


def test_old_mac_and_mixed_line_endings_give_the_lines_an_editor_shows(tmp_path: Path) -> None:
    first, second = PRIVILEGED.format(name="a"), PRIVILEGED.format(name="b")
    # every line ends in a lone CR, then an LF-only document: lines were counted by LF alone
    write(tmp_path, "cr.yaml", first.replace("\n", "\r") + "\n---\n" + second)
    write(tmp_path, "mixed.yaml", first.replace("\n", "\r\n") + "---\r" + second)
    write(tmp_path, "broken.yaml", first.replace("\n", "\r") + "\n---\nkey: [oops\n")
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 2
    assert privileged_lines(report) == [
        ("broken.yaml", 11),
        ("cr.yaml", 11),
        ("cr.yaml", 23),
        ("mixed.yaml", 11),
        ("mixed.yaml", 23),
    ]
    assert [(e["file"], e["line"]) for e in report["errors"]] == [("broken.yaml", 14)]


def test_a_byte_order_mark_starting_a_later_document_is_skipped_as_kubectl_does(
    tmp_path: Path,
) -> None:
    # what `cat a.yaml b.yaml` gives when b.yaml was saved with a BOM
    bom = "\ufeff"
    text = PRIVILEGED.format(name="a") + "---\n" + bom + PRIVILEGED.format(name="b")
    write(tmp_path, "joined.yaml", bom + text)
    code, report, _ = scan_json(tmp_path, "joined.yaml")
    assert code == 1
    assert report["errors"] == []
    assert privileged_lines(report) == [("joined.yaml", 11), ("joined.yaml", 23)]


def test_named_symlink_loop_and_special_files_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "manifests").mkdir()
    os.mkfifo(tmp_path / "manifests" / "pipe.yaml")  # reading it would wait forever
    write(tmp_path, "manifests/good.yaml", GOOD)
    code, report, _ = scan_json(tmp_path, "loop.yaml", "manifests")
    assert code == 2
    assert [(e["file"], e["message"]) for e in report["errors"]] == [
        ("loop.yaml", "is a symbolic link loop"),
        ("manifests/pipe.yaml", "is a named pipe, not a regular file or directory: not read"),
    ]
    assert report["summary"]["objects"] == 1


def test_huge_file_gets_a_size_limit_error_without_being_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing on disk
    write(tmp_path, "good.yaml", GOOD)
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 2
    (error,) = report["errors"]
    assert error["file"] == "huge.yaml"
    assert error["message"] == (
        "is 200 MiB, over the 64 MiB limit per file (raise it with --max-file-size)"
    )


def test_oversized_stdin_is_refused_without_guessing_its_size(tmp_path: Path) -> None:
    code, report, _ = scan_json(tmp_path, "-", "--max-file-size", "1", stdin=b"#" * (3 << 20))
    assert code == 2
    (error,) = report["errors"]
    assert error["file"] == "<stdin>"
    assert error["message"].startswith("is over the ") and "limit per file" in error["message"]


def test_wrong_types_are_object_errors_with_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "types.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec:\n  containers: x\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: shop}\nspec: []\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: c\n  namespace: shop\n  labels: {enabled: true}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {runAsUser: 1.5}\n",
    )
    code, report, _ = scan_json(tmp_path, "types.yaml")
    assert code == 2
    found = {(e["line"], e["message"].split(": ", 1)[1]) for e in report["errors"]}
    assert (5, "spec.containers must be a list, got a string") in found
    assert (10, "spec must be a mapping, got a list") in found
    assert (17, "metadata.labels.enabled must be a string, got a boolean") in found
    assert (
        22,
        "spec.containers[0].securityContext.runAsUser must be an integer, got a number",
    ) in found
    assert report["summary"]["objects"] == 3


RBAC = "apiVersion: rbac.authorization.k8s.io/v1\n"
CORE = "apiVersion: v1\n"
NETWORKING = "apiVersion: networking.k8s.io/v1\n"


# (document, line, message) for wrong types outside the pod spec (types from k8s.io/api)
WRONG_TYPES = [
    (
        RBAC + "kind: ClusterRole\nmetadata: {name: r}\n"
        "rules: [{apiGroups: [''], resources: secrets, verbs: [get]}]\n",
        4,
        "ClusterRole/r: rules[0].resources must be a list, got a string",
    ),
    (
        RBAC + "kind: Role\nmetadata: {name: r, namespace: shop}\nrules:\n"
        "- apiGroups: ['']\n  resources: [secrets, 5]\n  verbs: [get]\n"
        "- resourceNames: {a: b}\n  nonResourceURLs: /healthz\n- x\n",
        6,
        "Role/shop/r: rules[0].resources[1] must be a string, got an integer",
    ),
    (
        RBAC + "kind: Role\nmetadata: {name: r, namespace: shop}\nrules:\n"
        "- resourceNames: {a: b}\n  verbs: [get]\n",
        5,
        "Role/shop/r: rules[0].resourceNames must be a list, got a mapping",
    ),
    (
        RBAC + "kind: ClusterRole\nmetadata: {name: r}\nrules:\n- verbs: [get]\n"
        "  nonResourceURLs: /healthz\n",
        6,
        "ClusterRole/r: rules[0].nonResourceURLs must be a list, got a string",
    ),
    (
        RBAC + "kind: ClusterRole\nmetadata: {name: r}\nrules:\n- x\n",
        5,
        "ClusterRole/r: rules[0] must be a mapping, got a string",
    ),
    (
        RBAC + "kind: ClusterRoleBinding\nmetadata: {name: b}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\n"
        "subjects: {kind: Group, name: x}\n",
        5,
        "ClusterRoleBinding/b: subjects must be a list, got a mapping",
    ),
    (
        RBAC + "kind: RoleBinding\nmetadata: {name: b, namespace: shop}\n"
        "roleRef: {kind: Role, name: r}\nsubjects:\n- {kind: Group, name: x}\n"
        "- {kind: User, name: 5}\n",
        7,
        "RoleBinding/shop/b: subjects[1].name must be a string, got an integer",
    ),
    (
        RBAC + "kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: cluster-admin\n"
        "subjects: [{kind: Group, name: x}]\n",
        4,
        "ClusterRoleBinding/b: roleRef must be a mapping, got a string",
    ),
    (
        CORE + "kind: Service\nmetadata: {name: s, namespace: shop}\n"
        "spec:\n  type: ClusterIP\n  externalIPs: 1.2.3.4\n",
        6,
        "Service/shop/s: spec.externalIPs must be a list, got a string",
    ),
    (
        NETWORKING + "kind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\nspec: x\n",
        4,
        "NetworkPolicy/shop/np: spec must be a mapping, got a string",
    ),
    (
        NETWORKING + "kind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
        "spec:\n  podSelector: {}\n  ingress: {from: []}\n",
        6,
        "NetworkPolicy/shop/np: spec.ingress must be a list, got a mapping",
    ),
    (
        NETWORKING + "kind: Ingress\nmetadata: {name: i, namespace: shop}\nspec:\n  rules: x\n",
        5,
        "Ingress/shop/i: spec.rules must be a list, got a string",
    ),
    (
        NETWORKING + "kind: Ingress\nmetadata: {name: i, namespace: shop}\nspec:\n"
        "  rules: [{host: a.example.com}]\n  tls: 5\n",
        6,
        "Ingress/shop/i: spec.tls must be a list, got an integer",
    ),
    (
        CORE + "kind: ServiceAccount\nmetadata: {name: sa, namespace: shop}\n"
        "automountServiceAccountToken: 'false'\n",
        4,
        "ServiceAccount/shop/sa: automountServiceAccountToken must be a boolean, got a string",
    ),
    (
        CORE + "kind: Secret\nmetadata: {name: s, namespace: shop}\ndata: AKIAIOSFODNN7EXAMPLE\n",
        4,
        "Secret/shop/s: data must be a mapping, got a string",
    ),
    (
        CORE + "kind: Secret\nmetadata: {name: s, namespace: shop}\n"
        "data:\n  ok: aHVudGVyMg==\n  port: 5\n",
        6,
        "Secret/shop/s: data.port must be a string, got an integer",
    ),
    (
        CORE + "kind: Secret\nmetadata: {name: s, namespace: shop}\n"
        "stringData:\n  password: [hunter2]\n",
        5,
        "Secret/shop/s: stringData.password must be a string, got a list",
    ),
    (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n"
        "spec:\n  template:\n    metadata:\n      labels: {app: 1}\n"
        "    spec:\n      containers: [{name: c, image: nginx}]\n",
        7,
        "Deployment/shop/d: spec.template.metadata.labels.app must be a string, got an integer",
    ),
    (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j, namespace: shop}\n"
        "spec:\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n"
        "          annotations: {sidecar.istio.io/inject: false}\n"
        "        spec:\n          containers: [{name: c, image: nginx}]\n",
        9,
        "CronJob/shop/j: spec.jobTemplate.spec.template.metadata.annotations"
        "['sidecar.istio.io/inject'] must be a string, got a boolean",
    ),
    (
        CORE + "kind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx\n    resources:\n      limits: {memory: {a: 1}}\n",
        9,
        "Pod/shop/p: spec.containers[0].resources.limits.memory must be a string or a number, "
        "got a mapping",
    ),
    (  # lists of strings and of flat mappings are checked in their parent's loop: still reported
        CORE + "kind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx\n    env: [{name: A, value: a}, {name: B, value: 1}]\n",
        8,
        "Pod/shop/p: spec.containers[0].env[1].value must be a string, got an integer",
    ),
    (
        CORE + "kind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx\n    securityContext: {capabilities: {drop: [ALL, true]}}\n",
        8,
        "Pod/shop/p: spec.containers[0].securityContext.capabilities.drop[1] must be a string, "
        "got a boolean",
    ),
]


def test_wrong_types_outside_the_pod_spec_are_object_errors(tmp_path: Path) -> None:
    """One file per case, one scan (a CLI run per case would cost a second each)."""
    for index, (document, _, _) in enumerate(WRONG_TYPES):
        write(tmp_path, f"case{index:02}.yaml", document)
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 2
    found = {(e["file"], e["line"], e["message"]) for e in report["errors"]}
    for index, (_, line, message) in enumerate(WRONG_TYPES):
        assert (f"case{index:02}.yaml", line, message) in found
    assert report["summary"]["objects"] == len(WRONG_TYPES)
    for secret in ("AKIA", "aHVudGVy", "hunter2"):  # a Secret's values are never echoed
        assert secret not in json.dumps(report)


def test_well_typed_objects_outside_the_pod_spec_have_no_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "typed.yaml",
        RBAC + "kind: ClusterRole\nmetadata: {name: r}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: ['*']}]\n"
        "aggregationRule: {clusterRoleSelectors: [{matchLabels: {a: b}}]}\n---\n"
        + RBAC
        + "kind: ClusterRoleBinding\nmetadata: {name: b}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\n"
        "subjects: [{kind: Group, name: x}, null]\n---\n"
        + CORE
        + "kind: Service\nmetadata: {name: s, namespace: shop}\nspec:\n  type: NodePort\n"
        "  ports: [{port: 80, targetPort: http, nodePort: 30080}, {port: 81, targetPort: 8081}]\n"
        "  selector: {app: a}\n---\n"
        + NETWORKING
        + "kind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\nspec:\n"
        "  podSelector: {matchExpressions: [{key: a, operator: In, values: [b]}]}\n"
        "  ingress: [null, {from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}],"
        " ports: [{port: http}, {protocol: TCP, port: 80, endPort: 90}]}]\n---\n"
        + CORE
        + "kind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {a: ''}\n"
        "stringData: {b: ''}\n---\n"
        + CORE
        + "kind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx\n"
        "    resources: {limits: {cpu: 1, memory: 256Mi}, requests: {cpu: 0.5, memory: 1e3}}\n",
    )
    _, report, _ = scan_json(tmp_path, "typed.yaml")
    assert report["errors"] == []
    assert report["summary"]["objects"] == 6


def test_string_rbac_rule_fields_are_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    """A role whose rule fields are strings grants nothing: the error says why R002-R004 are
    silent; with lists, they report."""
    binding = (
        "---\n" + RBAC + "kind: ClusterRoleBinding\nmetadata: {name: b}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\n"
        "subjects: [{kind: Group, name: x}]\n"
    )
    role = RBAC + "kind: ClusterRole\nmetadata: {name: r}\nrules: [{apiGroups: [''], "
    write(tmp_path, "str.yaml", role + "resources: secrets, verbs: '*'}]\n" + binding)
    write(tmp_path, "list.yaml", role + "resources: [secrets], verbs: ['*']}]\n" + binding)
    code, report, _ = scan_json(tmp_path, "str.yaml", "--select", "R002,R003,R004")
    assert code == 2
    assert [(e["line"], e["message"]) for e in report["errors"]] == [
        (4, "ClusterRole/r: rules[0].resources must be a list, got a string"),
        (4, "ClusterRole/r: rules[0].verbs must be a list, got a string"),
    ]
    assert report["findings"] == []
    code, report, _ = scan_json(tmp_path, "list.yaml", "--select", "R002,R003,R004")
    assert code == 1
    assert not report["errors"]
    assert sorted(f["ruleId"] for f in report["findings"]) == ["R002", "R003", "R004"]


def test_a_wrong_typed_resource_limit_counts_as_missing(tmp_path: Path) -> None:
    write(
        tmp_path,
        "limits.yaml",
        CORE + "kind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx\n    resources:\n"
        "      limits: {cpu: '1', memory: [1]}\n      requests: {cpu: 1, memory: {a: 1}}\n",
    )
    code, report, _ = scan_json(tmp_path, "limits.yaml", "--select", "W022,W023")
    assert code == 2
    assert [(e["line"], e["message"].split(": ", 1)[1]) for e in report["errors"]] == [
        (9, "spec.containers[0].resources.limits.memory must be a string or a number, got a list"),
        (
            10,
            "spec.containers[0].resources.requests.memory must be a string or a number, "
            "got a mapping",
        ),
    ]
    assert sorted((f["ruleId"], f["message"]) for f in report["findings"]) == [
        ("W022", 'container "c" has no memory limit'),
        ("W023", 'container "c" has no memory request'),
    ]


def test_unknown_kinds_and_crds_are_kept(tmp_path: Path) -> None:
    write(
        tmp_path,
        "crd.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 3}\n"
        "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      serviceAccountName: r\n      containers:\n      - name: r\n        image: nginx\n        securityContext: {privileged: true}\n",
    )
    code, report, _ = scan_json(tmp_path, "crd.yaml", "--select", "W001")
    assert report["summary"]["objects"] == 2
    assert not report["errors"]
    assert [(f["ruleId"], f["object"]["kind"]) for f in report["findings"]] == [("W001", "Rollout")]
    assert code == 1


def test_duplicate_keys_are_reported_and_the_last_value_is_judged(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dup.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  serviceAccountName: p\n"
        "  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: false\n      privileged: true\n",
    )
    code, report, _ = scan_json(tmp_path, "dup.yaml", "--select", "W001")
    assert code == 2
    (error,) = report["errors"]
    assert error["line"] == 11 and "duplicate key" in error["message"]
    assert [f["ruleId"] for f in report["findings"]] == ["W001"]


def test_empty_documents_and_non_kubernetes_yaml(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "---\n---\n# nothing\n---\n" + GOOD + "---\n")
    write(tmp_path, "compose.yml", "services:\n  web:\n    image: nginx\n")
    code, report, _ = scan_json(tmp_path, ".")
    assert code == 0
    assert report["summary"]["objects"] == 1
    assert report["summary"]["skippedDocuments"] == 1
    assert report["warnings"][0]["file"] == "compose.yml"


def test_half_an_object_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "half.yaml", "kind: ConfigMap\nmetadata: {name: x}\n---\n- just\n- a list\n")
    code, report, _ = scan_json(tmp_path, "half.yaml")
    assert code == 2
    messages = sorted(e["message"] for e in report["errors"])
    assert any("apiVersion is missing" in m for m in messages)
    assert any("got a list" in m for m in messages)


def test_a_list_whose_items_are_not_a_list_is_an_error_not_an_object(tmp_path: Path) -> None:
    write(tmp_path, "lists.yaml", "apiVersion: v1\nkind: List\nitems: x\n---\n"
          "apiVersion: v1\nkind: PodList\nitems: null\n---\n" + GOOD)  # fmt: skip
    code, report, _ = scan_json(tmp_path, "lists.yaml", "--select", "N001")
    assert code == 2
    assert [(e["line"], e["message"]) for e in report["errors"]] == [
        (3, "List: items must be a list of objects, got a string")
    ]
    assert report["summary"]["objects"] == 1  # the ConfigMap; neither List is judged itself
    assert report["findings"] == []


def test_stdin(tmp_path: Path) -> None:
    code, report, _ = scan_json(
        tmp_path, "-", stdin=GOOD.replace("namespace: shop", "namespace: default").encode()
    )
    assert code == 1
    assert report["findings"][0]["file"] == "<stdin>"
    assert report["findings"][0]["line"] == 5


def test_missing_path_and_unknown_option(tmp_path: Path) -> None:
    code, report, _ = scan_json(tmp_path, "nope.yaml")
    assert code == 2
    assert report["errors"][0]["message"] == "no such file or directory"
    run = kubeward("scan", "--bogus", cwd=tmp_path)
    assert run.code == 2
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "config",
    [
        "trustedRegistry: [x.io]\n",
        "trustedRegistries: nginx\n",
        "trustedRegistries: [nginx]\n",
        "exceptions: [{rules: [W001]}]\n",
        "failOn: urgent\n",
        "select: [Z9]\n",
        "a: [\n",
        "exceptions: [{rules: [W001], reason: x, expires: 2027-02-30}]\n",
        "select: [W001]\nselect: [W002]\n",
        "kubernetesVersion: 1.30\n",
        "kubernetesVersion: latest\n",
        "requiredLimits: [gpu]\n",
        "requiredRequests: memory\n",
        "rbacPolicies: [{verbs: [get], resources: [secrets]}]\n",
        "rbacPolicies: [{name: a, verbs: ['*'], resources: [secrets]}]\n",
        "rbacPolicies: [{name: a, verbs: [get], resources: [/healthz]}]\n",
        "rbacPolicies: [{name: a, verbs: [get], resources: [secrets], allowedSubjects: [bob]}]\n",
        "rbacPolicies: [{name: a, verbs: [get], resources: [secrets], allowedSubjects: [sa:x]}]\n",
        "rbacPolicies: [{name: a, verbs: [get], resources: [secrets], allow: []}]\n",
        "admission: {defaultAction: block}\n",
        "admission: {actions: {Z9: deny}}\n",
        "admission: {actions: {W001: warning}}\n",
        "admission: {exempt: {serviceAccounts: [flux]}}\n",
        "admission: {exempt: {nodes: [a]}}\n",
        "admission: {onError: ignore}\n",
        "imageSignatures: {rules: [{name: a, images: ['x.io/*'], keys: []}]}\n",
        "imageSignatures: {rules: [{name: a, images: ['x.io/a:1'], keys: [k.pub]}]}\n",
        "imageSignatures: {rules: [{name: a, images: ['x.io/*'], keys: [missing.pub]}]}\n",
        "imageSignatures: {unpinned: allow}\n",
        "imageSignatures: {timeout: 60}\n",
        "imageSignatures: {credentials: missing.json}\n",
        "imageSignatures: {rules: [{name: a, images: ['x.io/*'], keys: [k.pub], require: most}]}\n",
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, config: str) -> None:
    write(tmp_path, "kubeward.yaml", config)
    write(tmp_path, "good.yaml", GOOD)
    run = kubeward("scan", ".", cwd=tmp_path)
    assert run.code == 2
    assert "Traceback" not in run.stderr
    assert (
        run.stderr.startswith("kubeward: error: kubeward.yaml") or "kubeward.yaml:" in run.stderr
    ), run.stderr


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("exceptions: [{rules: [W001], reason: x, expires: 2027-02-30}]\n",
         "1: exceptions[0].expires: invalid date (day is out of range for month)"),
        ("exceptions:\n  - rules: [W001]\n    reason: x\n    expires: 2027-13-45\n",
         "4: exceptions[0].expires: invalid date (month must be in 1..12)"),
        ("failOn: !!int high\n", "1: failOn: invalid integer"),
        ("allowInlineSuppressions: !!bool maybe\n", "1: allowInlineSuppressions: invalid boolean"),
        # duplicate keys: PyYAML keeps the last value without a word
        ("select: [W001]\nignore: [W002]\nselect: [W002]\n",
         "3: duplicate key select (also on line 1)"),
        ("exceptions:\n  - {rules: [W001], reason: a}\nexceptions:\n  - {rules: [W002], reason: b}\n",
         "3: duplicate key exceptions (also on line 1)"),
        ("exceptions:\n  - rules: [W001]\n    reason: a\n    rules: [W002]\n",
         "4: duplicate key exceptions[0].rules (also on line 2)"),
        ("admission:\n  actions:\n    W001: warn\n    'W001': deny\n",
         "4: duplicate key admission.actions.W001 (also on line 3)"),
        # a key a << merge brings in is not a duplicate; the mapping's own key wins, and is
        # the line shown
        ("exceptions:\n  - &e {rules: [W001], reason: a}\n  - <<: *e\n    rules: [Z9]\n",
         "4: exceptions[1].rules: 'Z9' matches no rule ID"),
        # YAML 1.1 reads a bare off as false: the entry's own line, and how to write it
        ("admission:\n  actions:\n    W022: warn\n    R: off\n",
         '4: admission.actions.R: expected a string, got a boolean (YAML reads a bare off, no, '
         'on or yes as one): write it in quotes, e.g. "off"'),
        ("admission:\n  defaultAction: Off\n",
         '2: admission.defaultAction: expected a string, got a boolean (YAML reads a bare off, '
         'no, on or yes as one): write it in quotes, e.g. "off"'),
        # expires: a date; a date and time (YAML reads one bare) or a number said plainly
        ("exceptions:\n  - rules: [W001]\n    reason: x\n    expires: 2027-06-30T10:00:00\n",
         "4: exceptions[0].expires: a date and time; give the date alone (it applies through "
         "that day, UTC): write YYYY-MM-DD, e.g. 2027-06-30"),
        ("exceptions: [{rules: [W001], reason: x, expires: '2027-06-30 10:00'}]\n",
         "1: exceptions[0].expires: '2027-06-30 10:00' is not a date: write YYYY-MM-DD, "
         "e.g. 2027-06-30"),
        ("exceptions: [{rules: [W001], reason: x, expires: 20270630}]\n",
         "1: exceptions[0].expires: expected a date, got a number: write YYYY-MM-DD, "
         "e.g. 2027-06-30"),
        ("exceptions: [{rules: [W001], reason: x, expires: '2027-02-30'}]\n",
         "1: exceptions[0].expires: invalid date (day is out of range for month)"),
        # kinds are matched as objects spell them: a group, version or glob would match nothing
        ("exceptions:\n  - rules: [W001]\n    reason: x\n    kinds: [Pod, apps/v1 Deployment]\n",
         "4: exceptions[0].kinds[1]: 'apps/v1 Deployment' is not a kind: write the kind alone, "
         "as in kinds: [Deployment] (no group, version or wildcard)"),
        ("exceptions: [{rules: [W001], reason: x, kinds: [Deployment.apps]}]\n",
         "1: exceptions[0].kinds[0]: 'Deployment.apps' is not a kind: write the kind alone, "
         "as in kinds: [Deployment] (no group, version or wildcard)"),
        # an empty list is not "any": omitting the key is
        ("exceptions:\n  - rules: [W001]\n    reason: x\n    names: []\n",
         "4: exceptions[0].names: an empty list; omit names to match any"),
        ("exceptions: [{rules: [W001], reason: x, namespaces: []}]\n",
         "1: exceptions[0].namespaces: an empty list; omit namespaces to match any"),
        # a rule's name where IDs or prefixes go: which ID it is
        ("exceptions: [{rules: [privileged-container], reason: x}]\n",
         "1: exceptions[0].rules: 'privileged-container' matches no rule ID "
         "('privileged-container' is rule W001's name: write its ID)"),
        ("ignore: [W002, privileged-container]\n",
         "1: ignore: 'privileged-container' matches no rule ID ('privileged-container' is rule "
         "W001's name: write its ID)"),
    ],
)  # fmt: skip
def test_config_values_and_keys_yaml_would_mishandle_are_errors_with_lines(
    tmp_path: Path, config: str, expected: str
) -> None:
    path = write(tmp_path, "kubeward.yaml", config)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}:{expected}"


def test_an_oversized_configuration_is_refused_without_being_parsed(tmp_path: Path) -> None:
    """A scanned repository's kubeward.yaml is untrusted input: 100 MiB of comments took
    20 s and 1.2 GB to parse."""
    line = "# " + "x" * 1000 + "\n"
    path = write(tmp_path, "kubeward.yaml", "select: [W001]\n" + line * 5000)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}: {path.stat().st_size} bytes, over the 4 MiB a configuration may have"
    )


def test_config_is_a_directory(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", GOOD)
    (tmp_path / "conf").mkdir()
    run = kubeward("scan", "--config", "conf", ".", cwd=tmp_path)
    assert (run.code, run.stderr) == (
        2,
        "kubeward: error: --config conf: a directory, not a file\n",
    )
