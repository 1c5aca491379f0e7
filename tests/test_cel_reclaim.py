"""What cel-expr-python 0.1.3 keeps on every call of a Kubernetes library function is given
back (kubeward.policies.k8s_cel.reclaim): memory stays flat over thousands of evaluations,
verdicts and errors are unchanged, and nothing is dropped that someone else still holds."""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.policies.cel import CelEvaluationError, Expression, Variables
from kubeward.policies.k8s_cel import reclaim

POLICIES = Path(__file__).parent / "policies" / "k8s_libs.yaml"


def expressions() -> list[Expression]:
    """Every validation of tests/policies/k8s_libs.yaml (quantity, regex, lists, ip/cidr, url),
    plus calls that fail inside a function."""
    sources = [
        v["expression"]
        for document in yaml.safe_load_all(POLICIES.read_text())
        for v in document["spec"]["validations"]
    ]
    sources += ["quantity(object.metadata.name) == quantity('1')", "url('x').getHost() == ''"]
    return [Expression(source) for source in sources]


def pod(index: int) -> dict[str, Any]:
    return {
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"web-{index}", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "a", "image": f"registry.example/web:{index}",
                     "resources": {"limits": {"memory": f"{index % 9 + 1}Gi", "cpu": "500m"}},
                     "ports": [{"containerPort": 8080 + index % 3}]},
                    {"name": "b", "image": "registry.example/side@sha256:" + "a" * 64},
                ],
                "hostAliases": [{"ip": f"10.0.{index % 250}.1", "hostnames": ["h"]}],
            },
        }
    }  # fmt: skip


def judge(compiled: list[Expression], data: dict[str, Any]) -> list[bool | str]:
    variables = Variables(data)
    verdicts: list[bool | str] = []
    for expression in compiled:
        try:
            verdicts.append(expression.holds(variables))
        except CelEvaluationError as exc:
            verdicts.append(str(exc))
    return verdicts


def traced_growth(compiled: list[Expression], reviews: int) -> int:
    for index in range(200):  # caches filled, the allocator warmed
        judge(compiled, pod(index))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(reviews):
            judge(compiled, pod(index % 200))
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_self_test_passes_on_the_supported_interpreter() -> None:
    assert reclaim.layout_supported()
    assert reclaim.self_test()


def test_memory_stays_flat_and_verdicts_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = expressions()
    assert all(e.leaking_functions for e in compiled)
    reclaimed = [judge(compiled, pod(i)) for i in range(20)]
    assert any(isinstance(v, str) for verdicts in reclaimed for v in verdicts)  # errors too
    assert any(v is False for verdicts in reclaimed for v in verdicts)
    grown = traced_growth(compiled, 2000)
    assert grown < 64 * 1024, grown  # ~0 B a review (bench/cel_admission.py --memory)
    monkeypatch.setattr(reclaim.SWITCH, "on", False)
    assert [judge(compiled, pod(i)) for i in range(20)] == reclaimed
    leaked = traced_growth(compiled, 2000)
    assert leaked > 1024 * 1024, leaked  # the engine's own leak: ~2 KiB a review


def test_evaluations_from_several_threads_give_back_only_their_own() -> None:
    compiled = expressions()
    expected = [judge(compiled, pod(i)) for i in range(50)]
    failures: list[str] = []

    def work() -> None:
        for round_ in range(20):
            for index in range(50):
                if judge(compiled, pod(index)) != expected[index]:
                    failures.append(f"round {round_}, pod {index}")

    threads = [threading.Thread(target=work) for _ in range(4)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave as often as the interpreter allows
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert failures == []


def test_nothing_is_dropped_that_more_than_the_engine_holds_or_nobody_else() -> None:
    """Only the engine ever holds what the ledger keeps (its own argument tuples, the fresh
    copies of results handed to it): a count showing two other holders, or none (an engine
    that released its reference), leaves every reference in place."""
    holders: list[Any] = [(str(12345),)]
    holders.append(holders[0])
    kept: list[Any] = [holders[0], "".join(["a", "b", "c"])]
    assert reclaim._give_back(kept) == 0
    assert kept == []
    count = sys.getrefcount(holders[0])  # its two holders and the argument: none dropped
    assert count == 3
    assert holders[0] == ("12345",)


def test_outside_an_evaluation_the_wrapper_only_calls() -> None:
    calls: list[tuple[str, ...]] = []

    def function(*arguments: str) -> str:
        calls.append(arguments)
        return "r"

    wrapped = reclaim.reclaiming(function)
    assert wrapped("a", "b") == "r" and calls == [("a", "b")]
    assert reclaim._LEDGER.tuples == [] and reclaim._LEDGER.results == []


def test_nulls_handed_to_functions_and_null_results_leave_none_alone() -> None:
    """The engine passes a CEL null to Python without a reference of its own, and its value()
    of a null result takes one from None: freeing such tuples, or asking such values, took
    None's count down by one each time until the interpreter aborted (~2,600 evaluations)."""
    from kubeward.policies.cel import Expression

    lists = Expression("object.items.indexOf('x') == -1 && object.nested.sum() >= 0")
    nested = {"items": [None, None, "y", {"k": None}], "nested": [1, 2]}
    null_result = Expression("object.x")

    def evaluate(times: int) -> None:
        for _ in range(times):
            assert lists.holds({"object": nested})
            with pytest.raises(CelEvaluationError, match="not true or false"):
                null_result.holds({"object": {"x": None}})

    evaluate(3000)  # caches filled: None's count moves with them at first
    before = sys.getrefcount(None)
    evaluate(5000)
    drift = sys.getrefcount(None) - before
    assert abs(drift) < 200, drift  # -30,000 before the fixes (an abort, in fact)


def test_results_keep_their_sign_and_deep_arguments_are_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    negative_zero = Expression("1.0 / [-0.0, 1.0].min() < 0.0")
    assert negative_zero.holds({})
    monkeypatch.setattr(reclaim.SWITCH, "on", False)
    assert negative_zero.holds({})
    monkeypatch.setattr(reclaim.SWITCH, "on", True)
    # a list of many lists: the engine converts each after building the tuple
    deep = Expression("object.rows.indexOf([1]) >= -1")
    data = {"object": {"rows": [[i] for i in range(12)]}}
    for _ in range(100):
        deep.holds(data)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            deep.holds(data)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown  # ~1.9 KB an evaluation when the tuple was not found


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("object.x", "'object.x' gave None, not true or false"),
        ("optional.none()", "'optional.none()' gave an optional value, not true or false"),
        ("object.?x", "'object.?x' gave an optional value, not true or false"),
    ],
)
def test_results_the_engine_hands_back_badly_are_evaluation_errors(
    source: str, message: str
) -> None:
    """A null result is not asked for (the engine's value() takes a reference from None); an
    optional result cannot be handed to Python at all (TypeError from the binding)."""
    with pytest.raises(CelEvaluationError) as raised:
        Expression(source).holds({"object": {"x": None}})
    assert str(raised.value) == message
