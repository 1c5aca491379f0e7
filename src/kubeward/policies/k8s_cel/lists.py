"""The Kubernetes lists library: isSorted, sum, min, max, indexOf, lastIndexOf
(k8s.io/apiserver/pkg/cel/library/lists.go)."""

from __future__ import annotations

import datetime
from typing import Any

from kubeward.policies.k8s_cel.values import NoSuchOverload, comparable, equal, is_int, order

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# CEL durations span about ±10,000 years
DURATION_LIMIT = datetime.timedelta(seconds=315_576_000_000)


def is_sorted(items: list[Any]) -> bool:
    previous: Any = _NONE
    for item in items:
        if not comparable(item):
            raise NoSuchOverload("isSorted")
        # an incomparable pair (a dyn list of mixed types) is not "greater": cel-go goes on
        if previous is not _NONE and order(previous, item) == 1:
            return False
        previous = item
    return True


def _plain(result: Any, function: str) -> Any:
    # cel-expr-python cannot return a duration or timestamp through a dyn result
    if isinstance(result, datetime.timedelta | datetime.datetime):
        raise NotImplementedError(f"{function} of durations or timestamps: not in kubeward")
    return result


def total(items: list[Any]) -> Any:
    return _plain(_total(items), "sum")


def _total(items: list[Any]) -> Any:
    """``sum``: the static element type is not known at run time; the first element's kind
    picks the zero (an empty list sums to int 0, as with an untyped list in Kubernetes)."""
    if not items:
        return 0
    first = items[0]
    if is_int(first):
        result: Any = 0
        for item in items:
            if not is_int(item):
                raise NoSuchOverload("sum")
            result += item
            if not INT64_MIN <= result <= INT64_MAX:
                raise OverflowError("integer overflow")
        return result
    if isinstance(first, float):
        accumulated = 0.0
        for item in items:
            if not isinstance(item, float):
                raise NoSuchOverload("sum")
            accumulated += item
        return accumulated
    if isinstance(first, datetime.timedelta):
        duration = datetime.timedelta(0)
        for item in items:
            if not isinstance(item, datetime.timedelta):
                raise NoSuchOverload("sum")
            duration += item
            if abs(duration) > DURATION_LIMIT:
                raise OverflowError("duration overflow")
        return duration
    raise NoSuchOverload("sum")


def _extreme(items: list[Any], name: str, replace_when: int) -> Any:
    if not items:
        raise ValueError(f"{name} called on empty list")
    result = items[0]
    for item in items:
        if not comparable(item):
            raise NoSuchOverload(name)
        if order(result, item) == replace_when:
            result = item
    return result


def minimum(items: list[Any]) -> Any:
    return _plain(_extreme(items, "min", 1), "min")


def maximum(items: list[Any]) -> Any:
    return _plain(_extreme(items, "max", -1), "max")


def index_of(items: list[Any], wanted: Any) -> int:
    return next((i for i, item in enumerate(items) if equal(item, wanted)), -1)


def last_index_of(items: list[Any], wanted: Any) -> int:
    for i in range(len(items) - 1, -1, -1):
        if equal(items[i], wanted):
            return i
    return -1


_NONE = object()
