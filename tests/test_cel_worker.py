"""The CEL worker of long-running processes (kubeward.policies.cel_worker): same verdicts as
in-process evaluation, replaced after its budget by a successor started beforehand, and a
dead worker costs at most the evaluation it was doing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeward.model import K8sObject
from kubeward.model.objects import UNLOCATED
from kubeward.policies import cel_isolation, cel_worker
from kubeward.policies.cel import Expression
from kubeward.policies.loader import isolate_leaking_policies, load_policies
from kubeward.rules import RuleParams

POLICIES = Path(__file__).parent / "policies"
SOURCES = [
    "quantity('1Gi').isLessThan(quantity(object.limit))",
    "object.image.find('(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]+)$') != ''",
    "[3, 1, 2].sum() == 6 && object.ports.max() < 9000",
    "cidr('10.0.0.0/8').containsIP(object.address)",
    "object.missing > 1",
]
OBJECTS = [
    {"limit": "2Gi", "image": "nginx:1.27", "ports": [80, 8080], "address": "10.1.2.3"},
    {"limit": "512Mi", "image": "nginx", "ports": [9000], "address": "192.168.0.1"},
    {"limit": "1Gi", "image": "r@sha256:abc", "ports": [], "address": "::1"},
]


CAP_POLICY = (
    "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {{name: cap-{n}}}\n"
    "spec:\n  id: ACME09{n}\n  title: t\n  severity: low\n  remediation: r.\n"
    "  match: {{kinds: [ConfigMap]}}\n  params: {{data: {{max: '{cap}'}}}}\n"
    "  validations:\n    - expression: >-\n"
    "        quantity(object.data.size).compareTo(quantity(params.data.max)) <= 0\n"
    "      message: over the cap {cap}\n"
)


def write_cap_policies(path: Path) -> None:
    """Two isolated policies with the same expression and different params (1Gi, 1Mi)."""
    path.write_text(CAP_POLICY.format(n=1, cap="1Gi") + "---\n" + CAP_POLICY.format(n=2, cap="1Mi"))


@pytest.fixture(autouse=True)
def worker_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is used where the engine's leak cannot be given back (k8s_cel.reclaim) or
    when asked for; these tests ask for it."""
    monkeypatch.setenv("KUBEWARD_CEL_WORKER", "1")


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[cel_worker.Pool]:
    pool = cel_worker.Pool()
    monkeypatch.setattr(cel_worker, "POOL", pool)
    yield pool
    pool.close()


def in_process(source: str, data: dict[str, object]) -> bool | str:
    try:
        return Expression(source).holds(data)
    except Exception as exc:
        return str(exc)


def test_the_worker_gives_the_verdicts_and_errors_of_in_process_evaluation(
    pool: cel_worker.Pool,
) -> None:
    for obj in OBJECTS:
        data = {"object": obj}
        assert pool.evaluate(SOURCES, data) == [in_process(s, data) for s in SOURCES]


def test_the_worker_is_replaced_after_its_budget_by_a_successor_started_beforehand(
    pool: cel_worker.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cel_worker, "MAX_EVALUATIONS", 40)
    data = {"object": OBJECTS[0]}
    expected = [in_process(s, data) for s in SOURCES]
    pool.warm(SOURCES)
    first = pool._active
    assert first is not None
    pids = set()
    for _ in range(200):
        assert pool.evaluate(SOURCES, data) == expected
        assert pool._active is not None
        pids.add(pool._active.process.pid)
        if pool._successor is None and pool._starting is not None:
            time.sleep(0.01)  # let the successor start, as a server's traffic would
    assert pool.replaced >= 3 and len(pids) >= 4
    assert pool.started_inline == 1  # only the very first worker was started on the clock
    assert first.process.wait(timeout=10) == 0  # the old worker exited once replaced


def test_the_worker_is_replaced_when_its_memory_grows(
    pool: cel_worker.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cel_worker, "MAX_GROWTH_MB", 0.25)
    big = {"object": {"text": "x" * 20000}}  # each call leaks the converted 20 kB argument
    deadline = time.monotonic() + 60
    while not pool.replaced and time.monotonic() < deadline:
        assert pool.evaluate(["object.text.find('y') == ''"], big) == [True]
    assert pool.replaced


def test_a_dead_worker_costs_one_evaluation_at_most(pool: cel_worker.Pool) -> None:
    data = {"object": OBJECTS[0]}
    assert pool.evaluate(SOURCES[:1], data) == [True]
    assert pool._active is not None
    pool._active.process.kill()
    pool._active.process.wait()
    assert pool.evaluate(SOURCES[:1], data) == [True]  # a new one, started for it


def test_long_running_processes_send_the_policies_that_call_kubernetes_functions_to_the_worker(
    pool: cel_worker.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cel_worker._ISOLATION, "on", False)
    monkeypatch.setattr(cel_isolation, "_POLICIES", [])
    loaded = load_policies([POLICIES / "k8s_libs.yaml", POLICIES / "acme.yaml"])
    assert not loaded.problems
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "b", "image": "busybox", "ports": [{"containerPort": 1}, {"containerPort": 2}],
             "resources": {"limits": {"memory": "8Gi"}}},
            {"name": "a", "image": "nginx:1"},
        ]}}},
    }  # fmt: skip
    obj = K8sObject(deployment, UNLOCATED)

    def verdicts() -> list[tuple[str, list[str]]]:
        out = []
        for rule in loaded.rules:
            if rule.target.matches(obj):
                try:
                    found = [v.message for v in rule.run_object(obj, RuleParams())]
                except Exception as exc:
                    found = [f"error: {exc}"]
                out.append((rule.id, found))
        return out

    expected = verdicts()
    assert any(found for _, found in expected)
    isolated = isolate_leaking_policies(loaded)
    assert {"ACME010", "ACME011", "ACME012"} <= set(isolated)
    assert not any(rule.startswith("ACME00") for rule in isolated)  # acme.yaml calls none
    assert pool._active is not None and pool._active.evaluations == 0
    assert verdicts() == expected
    assert pool._active.evaluations == 1  # one exchange for every isolated policy of the object


def test_only_the_enforced_policies_are_isolated(
    pool: cel_worker.Pool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A policy that select/ignore leaves out is not compiled into the worker."""
    monkeypatch.setitem(cel_worker._ISOLATION, "on", False)
    monkeypatch.setattr(cel_isolation, "_POLICIES", [])
    write_cap_policies(tmp_path / "p.yaml")
    loaded = load_policies([tmp_path])
    enforced = [rule for rule in loaded.rules if rule.id == "ACME092"]
    assert isolate_leaking_policies(loaded, enforced) == ["ACME092"]
    assert [policy.rule_id for policy in cel_isolation._POLICIES] == ["ACME092"]


def test_isolated_policies_with_different_params_are_not_answered_with_each_others(
    pool: cel_worker.Pool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One exchange serves the isolated policies that see the same params; a policy whose
    params differ gets its own, so no policy is judged with another's params."""
    monkeypatch.setitem(cel_worker._ISOLATION, "on", False)
    monkeypatch.setattr(cel_isolation, "_POLICIES", [])
    write_cap_policies(tmp_path / "p.yaml")
    loaded = load_policies([tmp_path])
    assert not loaded.problems
    obj = K8sObject(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
         "data": {"size": "10Mi"}}, UNLOCATED,
    )  # fmt: skip

    def verdicts(params: RuleParams, judged: K8sObject = obj) -> dict[str, int]:
        return {r.id: len(list(r.run_object(judged, params))) for r in loaded.rules}

    assert verdicts(RuleParams()) == {"ACME091": 0, "ACME092": 1}
    assert set(isolate_leaking_policies(loaded)) == {"ACME091", "ACME092"}
    assert verdicts(RuleParams()) == {"ACME091": 0, "ACME092": 1}
    assert pool._active is not None and pool._active.evaluations == 2
    same = RuleParams(policy_params={"ACME092": {"data": {"max": "1Gi"}}})
    again = K8sObject(obj.raw, UNLOCATED)  # answers are kept per object: a fresh one
    assert verdicts(same, again) == {"ACME091": 0, "ACME092": 0}
    assert pool._active.evaluations == 3  # the same params now: one exchange for both


def test_the_webhook_sends_isolated_policies_ahead_and_judges_as_in_process(
    pool: cel_worker.Pool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At admission the worker gets its expressions before the catalog runs (one exchange per
    review, even with two params groups), and the verdicts are those of in-process evaluation."""
    from kubeward.admission.review import Reviewer, parse, response
    from kubeward.engine import EngineSettings
    from kubeward.model.enforcement import AdmissionSettings
    from kubeward.rules import ALL_RULES
    from tests.test_admission import review

    monkeypatch.setitem(cel_worker._ISOLATION, "on", False)
    monkeypatch.setattr(cel_isolation, "_POLICIES", [])
    write_cap_policies(tmp_path / "p.yaml")
    loaded = load_policies([tmp_path])
    reviewer = Reviewer([*ALL_RULES, *loaded.rules], EngineSettings(), AdmissionSettings())

    def decide(size: str) -> tuple[bool, str]:
        body = review({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "c", "namespace": "shop"}, "data": {"size": size}})  # fmt: skip
        request = parse(body)
        answer = response(request, reviewer.decide(request))["response"]
        return answer["allowed"], answer.get("status", {}).get("message", "")

    expected = [decide(size) for size in ("10Mi", "2Gi", "1Ki", "bad")]
    assert expected[0][0] is False and "over the cap 1Mi" in expected[0][1]
    isolate_leaking_policies(loaded)
    assert pool._active is not None
    before = pool._active.evaluations
    assert [decide(size) for size in ("10Mi", "2Gi", "1Ki", "bad")] == expected
    assert pool._active.evaluations - before == 8  # two params groups: two exchanges each
    assert getattr(cel_isolation._STATE, "pending", None) is None
