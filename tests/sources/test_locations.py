"""file:line for findings, on both YAML paths, in lists, JSON and rendered output."""

from __future__ import annotations

import pytest

from kubeward.sources import yaml_exact
from kubeward.sources.manifests import objects_from_documents, parse_json, parse_yaml

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: a
          image: nginx
        - name: b
          image: busybox
          securityContext: {privileged: true}
"""


@pytest.mark.parametrize("suffix", ["", "extra: yes\n"], ids=["fast-path", "exact-path"])
def test_paths_map_to_lines(suffix: str) -> None:
    parsed = parse_yaml(("# header\n---\n" + DEPLOYMENT + suffix).encode(), "f.yaml")
    (doc,) = parsed.documents
    base = ("spec", "template", "spec", "containers")
    lines = doc.locator.lines(
        [
            ("metadata", "namespace"),
            (*base, 1, "image"),
            (*base, 1, "securityContext", "privileged"),
            (*base, 0, "securityContext", "privileged"),  # missing: deepest existing node
            (*base, 7),
            (),
        ]
    )
    assert lines[:5] == [7, 15, 16, 12, 11]
    assert lines[5] in (2, 3)


def test_list_items_get_their_own_lines() -> None:
    text = b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n"
    parsed = parse_yaml(text, "l.yaml")
    out = objects_from_documents(parsed.documents, file="l.yaml", deploy_namespace="ns")
    assert [o.name for o in out.objects] == ["a", "b"]
    assert [o.origin.line for o in out.objects] == [4, 7]
    assert out.objects[1].origin.lines([("metadata", "name")]) == [9]


def test_json_files_have_lines_too() -> None:
    text = b'{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "p"},\n  "spec": {\n    "hostPID": true\n  }\n}\n'
    parsed = parse_json(text, "p.json")
    (doc,) = parsed.documents
    assert doc.locator.lines([("spec", "hostPID")]) == [6]


def test_json_beyond_the_yaml_limits_keeps_its_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # The exact loader's node limit (1,000,000) stops alias bombs; JSON has no aliases, and a
    # large `kubectl get -o json` dump past it had every finding on line 1.
    monkeypatch.setattr(yaml_exact, "MAX_NODES", 5)
    monkeypatch.setattr(yaml_exact, "MAX_DEPTH", 2)
    text = b'{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "p"},\n  "spec": {\n    "hostPID": true\n  }\n}\n'
    parsed = parse_json(text, "p.json")
    (doc,) = parsed.documents
    assert parsed.problems == []
    assert doc.locator.lines([("spec", "hostPID")]) == [6]


def test_a_top_level_array_in_an_upper_case_json_file_is_a_list_of_objects() -> None:
    text = b'[\n{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},\n{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}\n]\n'
    parsed = parse_json(text, "ALL.JSON")
    out = objects_from_documents(parsed.documents, file="ALL.JSON", deploy_namespace="ns")
    assert out.problems == []
    assert [(o.name, o.origin.line) for o in out.objects] == [("a", 2), ("b", 3)]
