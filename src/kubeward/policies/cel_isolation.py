"""CEL policies that call Kubernetes library functions, in a long-running process where the
engine's leak cannot be given back (``k8s_cel.reclaim``; or with ``KUBEWARD_CEL_WORKER=1``):
their expressions are evaluated in the recycled CEL worker (``cel_worker``), because
cel-expr-python 0.1.3 leaks on every call of a Python function, and this module decides what
goes there when.

``register`` records each such policy (its target, expressions and own ``params``) and
``start`` switches isolation on (``admission serve``, ``audit --watch``; scans never do). Then:

- ``verdicts``, from a policy's check: the first policy to ask about an object sends the
  expressions of *every* isolated policy that matches it and sees the same ``params`` in one
  exchange; the others find their answers (kept per object and params, in this thread);
- ``ahead``, around a review at admission: those expressions go to the worker before the rules
  run, so the worker evaluates while kubeward's process judges the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from kubeward.model import K8sObject
from kubeward.policies import cel_worker
from kubeward.policies.request import cel_variables
from kubeward.rules import RuleParams, Target

if TYPE_CHECKING:
    from kubeward.policies.cel import Expression


@dataclass(frozen=True)
class Answer:
    """One expression's result from the CEL worker."""

    result: bool | str

    def verdict(self) -> bool:
        if isinstance(self.result, bool):
            return self.result
        from kubeward.policies.cel import CelEvaluationError

        raise CelEvaluationError(self.result)


@dataclass(frozen=True)
class _Policy:
    rule_id: str
    target: Target
    sources: tuple[str, ...]
    params: Mapping[str, Any] | None


_POLICIES: list[_Policy] = []
"""Every isolated policy (``register``)."""
_STATE = threading.local()
"""This thread's last object with its answers from the worker (``answers``), and the request
``ahead`` sent and nobody read yet (``pending``)."""


def register(
    rule_id: str, target: Target, sources: tuple[str, ...], params: Mapping[str, Any] | None
) -> None:
    _POLICIES.append(_Policy(rule_id, target, sources, params))


def start() -> None:
    """From now on, registered policies' expressions run in the worker (started now, with
    them compiled)."""
    cel_worker.isolate([source for policy in _POLICIES for source in policy.sources])


def verdicts(
    obj: K8sObject,
    checks: Sequence[tuple[Expression, str]],
    data: dict[str, Any],
    params: RuleParams,
) -> dict[str, Answer]:
    """The worker's answers for the expressions of ``checks`` that call Kubernetes functions
    (none when isolation is off: the caller evaluates everything itself)."""
    if not cel_worker.isolated():
        return {}
    own = [e.source for e, _ in checks if e.leaking_functions]
    if not own:
        return {}
    key = _params_key(data["params"])
    answers = _answers_for(obj)
    found = answers.get(key)
    if found is None or not all(s in found for s in own):
        sources = list(dict.fromkeys([*own, *_batch(obj, data["params"], params)]))
        found = answers[key] = _ask(sources, data)
    return {source: found[source] for source in own}


@contextmanager
def ahead(obj: K8sObject, params: RuleParams) -> Iterator[None]:
    """Around the evaluation of ``obj`` at admission: its isolated CEL policies go to the
    worker first, so that the worker evaluates them while kubeward's process runs the other
    rules (two cores at work instead of a round trip in the middle of the review)."""
    matching = [p for p in _POLICIES if p.target.matches(obj)] if cel_worker.isolated() else []
    if not matching:
        yield
        return
    first = matching[0]
    data = cel_variables(obj, params.policy_params.get(first.rule_id, first.params), params)
    sources = _batch(obj, data["params"], params)
    answers = _answers_for(obj)
    key = _params_key(data["params"])
    try:
        _STATE.pending = (obj, key, sources, cel_worker.POOL.send(sources, data))
    except cel_worker.WorkerError:
        _STATE.pending = None  # asked again, one by one, when the policies run
    try:
        yield
    finally:
        _receive_pending(obj, answers)


def _answers_for(obj: K8sObject) -> dict[bytes, dict[str, Answer]]:
    """This thread's answers about ``obj`` by params (a new object starts afresh); a pending
    request is read first, so the worker's pipe is free for the next one."""
    last = getattr(_STATE, "answers", None)
    if last is None or last[0] is not obj:
        last = (obj, {})
        _STATE.answers = last  # holds the object, so that no other one can take its id
    _receive_pending(obj, last[1])
    return last[1]


def _receive_pending(obj: K8sObject, answers: dict[bytes, dict[str, Answer]]) -> None:
    """Read the request ``ahead`` sent, if any; its answers count only for its object."""
    pending = getattr(_STATE, "pending", None)
    if pending is None:
        return
    _STATE.pending = None
    asked_about, key, sources, sent = pending
    try:
        results: list[bool | str] = cel_worker.POOL.receive(sent)
    except cel_worker.WorkerError as exc:
        results = [f"{source!r}: {exc}" for source in sources]
    if asked_about is obj:
        answers[key] = dict(zip(sources, map(Answer, results), strict=True))


def _batch(obj: K8sObject, mine: Any, params: RuleParams) -> list[str]:
    """The expressions of the isolated policies that match ``obj`` and see params ``mine``."""
    return list(
        dict.fromkeys(
            source
            for policy in _POLICIES
            if policy.target.matches(obj)
            and params.policy_params.get(policy.rule_id, policy.params) == mine
            for source in policy.sources
        )
    )


def _ask(sources: list[str], data: dict[str, Any]) -> dict[str, Answer]:
    try:
        results: list[bool | str] = cel_worker.POOL.evaluate(sources, data)
    except cel_worker.WorkerError as exc:
        results = [f"{source!r}: {exc}" for source in sources]
    return dict(zip(sources, map(Answer, results), strict=True))


def _params_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)
