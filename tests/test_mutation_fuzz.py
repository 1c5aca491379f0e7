"""Mutation fuzzing of the rule fixtures: real objects with one field made wrong.

Random shapes (test_fuzz.py) rarely reach deep paths (``volumes[0].hostPath.path``,
``subjects[1].kind``); replacing one value of a real fixture by a value of another type reaches
every field rules read. A rule may say it cannot judge (RuleEvaluationError) but must never crash,
and a finding's message never shows a Python repr (``None``, ``['x']``) of a malformed field.
"""

from __future__ import annotations

import copy
import math
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeward.engine import Evaluation, evaluate
from kubeward.model import Inventory, K8sObject, shown
from kubeward.rules import ALL_RULES
from kubeward.sources.manifests import (
    Document,
    FixedLocator,
    objects_from_documents,
    parse_yaml,
)

ROOT = Path(__file__).parent.parent
FIXTURES = sorted(
    p
    for p in [
        *(ROOT / "tests/rules/fixtures").rglob("*.yaml"),
        *(ROOT / "examples").rglob("*.yaml"),
    ]
    if p.name not in ("kubeward.yaml", "Chart.yaml", "kustomization.yaml", "values.yaml")
    and "templates" not in p.parts
)
# Values a manifest can carry in place of any other (the YAML loaders give no other types;
# keys are always strings).
MUTATIONS: list[Any] = [
    None, 0, -1, 1.5, True, "", "x", "true", [], {}, ["x"], [None], [1], {"a": "b"},
    {"a": None}, "A" * 10_000, math.nan, math.inf, 2**70,
]  # fmt: skip
KEYS = ["", "1", "*"]
SAMPLE = 10_000
REPR = re.compile(r"\bNone\b|\[\'|\{\'|\bnan\b|\binf\b|object at 0x")


def _paths(value: Any, base: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*base, key)
            yield from _paths(item, (*base, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*base, index)
            yield from _paths(item, (*base, index))


def _mutated(raw: dict[str, Any], path: tuple[Any, ...], value: Any, *, key: bool) -> Any:
    out = copy.deepcopy(raw)
    node = out
    for part in path if key else path[:-1]:
        node = node[part]
    if key:
        node[value] = "x"
    else:
        node[path[-1]] = copy.deepcopy(value)
    return out


def _objects(path: Path) -> list[K8sObject]:
    parsed = parse_yaml(path.read_bytes(), str(path))
    return objects_from_documents(parsed.documents, file=str(path), deploy_namespace=None).objects


def _cases() -> list[tuple[Path, int, tuple[Any, ...], Any, bool]]:
    """Every (file, object, path, value, is-a-key mutation), sampled with a fixed seed."""
    every: list[tuple[Path, int, tuple[Any, ...], Any, bool]] = []
    for fixture in FIXTURES:
        for index, obj in enumerate(_objects(fixture)):
            for path in _paths(obj.raw):
                every.extend((fixture, index, path, value, False) for value in MUTATIONS)
            for path in [(), *(p for p in _paths(obj.raw) if isinstance(_at(obj.raw, p), dict))]:
                every.extend((fixture, index, path, key, True) for key in KEYS)
    return random.Random(20240611).sample(every, min(SAMPLE, len(every)))


def _at(raw: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def _judge(objects: list[K8sObject]) -> Evaluation:
    return evaluate(Inventory(objects), ALL_RULES)


def test_mutated_fixtures_never_crash_a_rule() -> None:
    """A seeded sample of one-field mutations of every fixture: no rule crashes, nothing raises
    out of evaluate(), and no new finding message shows a Python repr."""
    cache: dict[Path, tuple[list[K8sObject], set[str]]] = {}
    failures: list[str] = []
    for fixture, index, path, value, key in _cases():
        if fixture not in cache:
            objects = _objects(fixture)
            cache[fixture] = (objects, {f.message for f in _judge(objects).findings})
        objects, before = cache[fixture]
        raw = _mutated(objects[index].raw, path, value, key=key)
        doc = Document(raw, 1, FixedLocator(1))
        mutated = objects_from_documents([doc], file="m.yaml", deploy_namespace=None).objects
        where = f"{fixture.relative_to(ROOT)} object {index} {path} {'key' if key else '='} "
        where += repr(value)[:20]
        try:
            result = _judge([*objects[:index], *mutated, *objects[index + 1 :]])
        except Exception as exc:  # pragma: no cover - the failure is the report
            failures.append(f"{where}: evaluate raised {type(exc).__name__}")
            continue
        failures.extend(f"{where}: {e.message}" for e in result.errors if "crashed" in e.message)
        failures.extend(
            f"{where}: {f.rule_id} {f.message[:120]}"
            for f in result.findings
            if f.message not in before and REPR.search(f.message)
        )
    assert not failures, "\n".join(failures[:20])


# --- the bugs the fuzzing found, one by one ------------------------------------------------


def judge(*values: dict[str, Any]) -> Evaluation:
    """The objects as the YAML loader gives them (nan and inf included, which JSON lacks)."""
    docs = [Document(value, 1, FixedLocator(1)) for value in values]
    return _judge(objects_from_documents(docs, file="o.yaml", deploy_namespace=None).objects)


def crashes(result: Evaluation) -> list[str]:
    return [e.message for e in result.errors if "crashed" in e.message]


def shape(result: Evaluation) -> list[str]:
    return [e.message for e in result.errors if e.kind.value == "object"]


def pod(container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "nginx", **(container or {})}], **spec},
    }


def messages(result: Evaluation, rule_id: str) -> list[str]:
    return [f.message for f in result.findings if f.rule_id == rule_id]


@pytest.mark.parametrize("subjects", [-1, 7, True, 1.5])
def test_binding_subjects_not_a_list(subjects: Any) -> None:
    result = judge({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"}, "subjects": subjects,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
    })  # fmt: skip
    assert not crashes(result)
    assert any("subjects must be a list" in m for m in shape(result))


def test_aggregation_rule_values_not_a_list() -> None:
    """Aggregated when a binding needs the role: every RBAC rule crashed on the binding."""
    result = judge({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchExpressions": [
            {"key": "k", "operator": "In", "values": 5}]}]},
    }, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"}, "subjects": [{"kind": "User", "name": "alice"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "agg"},
    })  # fmt: skip
    assert not crashes(result)
    assert any("values must be a list" in m for m in shape(result))


def test_binding_subject_without_a_kind_is_not_named_none() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "everything"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }  # fmt: skip
    result = judge(role, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "shop"},
        "subjects": [{"name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "everything"},
    })  # fmt: skip
    found = messages(result, "R001")
    assert found and not any("None" in m for m in found), found


@pytest.mark.parametrize("where", ["volume", "mount"])
def test_writable_host_path_with_an_unhashable_name(where: str) -> None:
    volume_name: Any = ["x"] if where == "volume" else "logs"
    mount_name: Any = ["x"] if where == "mount" else "logs"
    result = judge(
        pod(
            {"volumeMounts": [{"name": mount_name, "mountPath": "/l"}]},
            volumes=[{"name": volume_name, "hostPath": {"path": "/var/log"}}],
        )
    )
    assert not crashes(result)
    assert shape(result)


def test_writable_host_path_without_a_path_is_reported_without_none() -> None:
    result = judge(
        pod(
            {"volumeMounts": [{"name": "logs", "mountPath": "/l"}]},
            volumes=[{"name": "logs", "hostPath": {}}],
        )
    )
    assert messages(result, "W030") == ['container "app" mounts the node path (unset) writable']


def test_owner_reference_kind_not_a_string() -> None:
    value = pod()
    value["metadata"]["ownerReferences"] = [{"kind": ["Job"], "name": "j"}]
    result = judge(value)
    assert not crashes(result)
    assert any("ownerReferences[0].kind must be a string" in m for m in shape(result))


@pytest.mark.parametrize("kind", [["spc_t"], {"a": "b"}, math.nan, 7])
def test_selinux_type_not_a_string_is_reported(kind: Any) -> None:
    """Not a string is not an allowed type: W010 still fails (and shape.py reports the type)."""
    result = judge(pod(securityContext={"seLinuxOptions": {"type": kind}}))
    assert not crashes(result)
    assert messages(result, "W010") == ["the pod sets an SELinux type that is not a string"]
    assert shape(result)


def test_policy_test_object_with_a_number_key(tmp_path: Path) -> None:
    """PyYAML reads ``1: x`` as an int key (a manifest scan reads "1"): a PolicyTest object
    with one crashed the engine (an annotation key is a string)."""
    from kubeward.policies.testing import load_cases, run_cases

    (tmp_path / "t.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: t}\nspec:\n"
        "  cases:\n  - rule: W001\n    expect: fail\n    object:\n"
        "      apiVersion: v1\n      kind: Pod\n"
        "      metadata: {name: p, annotations: {1: x}, labels: {at: 2024-01-01}}\n"
        "      spec:\n        containers:\n        - name: a\n          image: !!binary aGk=\n"
        "          securityContext: {privileged: true}\n"
    )
    cases, problems = load_cases([str(tmp_path)])
    assert not problems
    assert cases[0].object["metadata"] == {
        "name": "p",
        "annotations": {"1": "x"},
        "labels": {"at": "2024-01-01T00:00:00Z"},
    }
    assert cases[0].object["spec"]["containers"][0]["image"] == "aGk="
    outcomes, _ = run_cases(cases, {r.id: r for r in ALL_RULES})
    assert [o.actual for o in outcomes] == ["fail"]


# Fields rules read that were not type-checked: a wrong type silently passed the rule.
@pytest.mark.parametrize(
    ("value", "rule_id", "field"),
    [
        (pod(shareProcessNamespace="true"), "W027", "spec.shareProcessNamespace"),
        (pod({"command": "sh -c 'echo $PASSWORD'"}), "S006", "spec.containers[0].command"),
        (pod({"args": {"a": "b"}}), "S006", "spec.containers[0].args"),
        (pod({"env": [{"name": "P", "valueFrom": {"secretKeyRef": "db"}}]}), "S005",
         "spec.containers[0].env[0].valueFrom.secretKeyRef"),
        (pod({"envFrom": [{"secretRef": "db"}]}), "S005", "spec.containers[0].envFrom[0].secretRef"),
        (pod(volumes=[{"name": "m", "image": {"reference": 7}}]), "I001",
         "spec.volumes[0].image.reference"),
        (pod(volumes=[{"name": "m", "image": "registry.example/m:latest"}]), "I001",
         "spec.volumes[0].image"),
        (pod({"livenessProbe": {"exec": {"command": "cat /x"}}}), "S006",
         "spec.containers[0].livenessProbe.exec.command"),
        (pod(restartPolicy=["Never"]), "W024", "spec.restartPolicy"),
        (pod(os="windows"), "W013", "spec.os"),
    ],
)  # fmt: skip
def test_wrongly_typed_fields_rules_read_are_object_errors(
    value: dict[str, Any], rule_id: str, field: str
) -> None:
    result = judge(value)
    assert not crashes(result)
    assert any(f": {field} must be " in m for m in shape(result)), shape(result)


@pytest.mark.parametrize(
    ("value", "rule_id", "message"),
    [
        (pod(volumes=[{"name": None, "hostPath": {"path": "/var/log"}}]), "W005",
         'volume "?" mounts the node path /var/log'),
        (pod(volumes=[{"name": "l", "hostPath": {"path": ["/"]}}]), "W005",
         'volume "l" mounts the node path (a list)'),
        (pod(securityContext={"seccompProfile": {}}), "W012",
         "the pod sets seccomp profile type (unset)"),
        (pod({"securityContext": {"procMount": ["Unmasked"]}}), "W011",
         'container "app" sets procMount (a list)'),
        ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"},
          "spec": {"externalIPs": [None, {"a": "b"}, "1.2.3.4"]}}, "N008",
         "externalIPs (unset), (a mapping), 1.2.3.4: traffic from the cluster to these "
         "addresses is captured by this Service (CVE-2020-8554)"),
    ],
)  # fmt: skip
def test_messages_show_no_python_repr(value: dict[str, Any], rule_id: str, message: str) -> None:
    assert messages(judge(value), rule_id) == [message]


def test_network_policy_port_of_the_wrong_type_is_not_a_repr() -> None:
    result = judge({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "n", "namespace": "shop"},
        "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": ["x"]}]}]},
    })  # fmt: skip
    found = messages(result, "N004")
    assert found and all("TCP (a list)" in m and "['x']" not in m for m in found), found


def test_shown() -> None:
    values: list[Any] = ["a", 8080, 1.5, True, None, ["x"], {}, math.nan]
    assert [shown(v) for v in values] == [
        "a", "8080", "1.5", "true", "(unset)", "(a list)", "(a mapping)", "(a number)",
    ]  # fmt: skip
