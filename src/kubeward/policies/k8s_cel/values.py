"""How the Kubernetes CEL types travel through cel-expr-python, and CEL's own equality and
ordering for plain values (the list functions need them).

cel-expr-python cannot hand an opaque value to or from a Python function, so at run time a
Quantity, an IP, a CIDR or a URL is its canonical text (a plain string: strings cross into
Python without leaking, lists and maps do not).
The type checker still sees the real opaque type (see ``declarations``), so a misuse such as
``quantity('1').isLessThan(1)`` fails to compile as in Kubernetes. The canonical form is what
Kubernetes' ``==`` compares, so CEL's string equality gives the right answer: equal quantities
(``1G`` and ``1000M``), addresses and prefixes, and URLs with the same ``String()``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

QUANTITY = "kubernetes.Quantity"
URL = "kubernetes.URL"
IP = "net.IP"
CIDR = "net.CIDR"


class NoSuchOverload(TypeError):
    """A value of the wrong type reached a function (possible through ``dyn``)."""

    def __init__(self, function: str) -> None:
        super().__init__(f"no such overload: {function}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_double_order(integer: int, double: float) -> int:
    # cel-go compares an int with a double as doubles (after range checks)
    if double < -(2.0**63):
        return 1
    if double > 2.0**63 - 1:
        return -1
    return _double_order(float(integer), double)


def _double_order(left: float, right: float) -> int:
    return -1 if left < right else 1 if left > right else 0  # NaN compares as 0, like cel-go


def order(left: Any, right: Any) -> int | None:
    """CEL's comparison of two values (-1, 0, 1), or None where cel-go has no ordering."""
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return int(left) - int(right)
        return None
    if is_int(left) and is_int(right):
        return int(left > right) - int(left < right)
    if isinstance(left, float) and isinstance(right, float):
        return _double_order(left, right)
    if is_int(left) and isinstance(right, float):
        return _int_double_order(left, right)
    if isinstance(left, float) and is_int(right):
        return -_int_double_order(right, left)
    for kind in (str, bytes | bytearray, datetime.datetime, datetime.timedelta):
        if isinstance(left, kind) and isinstance(right, kind):
            ordered: Any = left  # the same kind on both sides
            return int(ordered > right) - int(ordered < right)
    return None


def comparable(value: Any) -> bool:
    """Whether cel-go's value has an ordering at all (a Comparer)."""
    return isinstance(value, bool | int | float | str | bytes | bytearray | datetime.datetime
                      | datetime.timedelta)  # fmt: skip


def equal(left: Any, right: Any) -> bool:
    """CEL's heterogeneous equality (numbers across types, no bool/int mixing, deep lists and
    maps); the tagged Kubernetes values compare by their canonical text."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if (is_int(left) or isinstance(left, float)) and (is_int(right) or isinstance(right, float)):
        if isinstance(left, float) and math.isnan(left):
            return False
        return order(left, right) == 0
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        if len(left) != len(right):
            return False
        for key, value in left.items():
            match = next((k for k in right if equal(k, key)), _MISSING)
            if match is _MISSING or not equal(value, right[match]):
                return False
        return True
    if isinstance(left, bytes | bytearray) and isinstance(right, bytes | bytearray):
        return bytes(left) == bytes(right)
    if type(left) is not type(right) and not (left is None or right is None):
        return False
    return bool(left == right)


_MISSING = object()
