"""Kubernetes resource quantities (apimachinery's resource.ParseQuantity) as exact decimals,
and the quantity library (library/quantity.go).

A parsed quantity is an exact decimal: what Kubernetes keeps in an int64 with a power-of-ten
scale or, past that, in an arbitrary-precision decimal rounded up to nano units (and, for
binary suffixes, capped at 2^63-1). Arithmetic and comparisons are exact here too.

Kubernetes' ``isInteger``/``asInteger`` depend on that representation, not only on the value:
they fail for ``1000m``, ``1.0`` or ``1.5Gi`` (a negative scale, or the decimal path). So a
quantity also carries ``int64``: whether Kubernetes' ``AsInt64`` would succeed.
"""

from __future__ import annotations

import decimal
import re
from functools import lru_cache
from typing import NamedTuple

# Exact arithmetic: no rounding, however many digits
EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                        traps=[decimal.InvalidOperation, decimal.Inexact])  # fmt: skip
NANO = decimal.Decimal("1e-9")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SPLIT_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_PATTERN}'"
DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
                    "E": 18}  # fmt: skip
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
DIGITS = frozenset("0123456789")
EXPONENT = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.ParseInt takes


class QuantityError(ValueError):
    pass


def _scan(text: str) -> tuple[bool, str, str, str, str]:
    """(positive, value, numerator, denominator, suffix) as Kubernetes' parseQuantityString
    splits the text; a quantity such as ``.`` or ``+`` is zero there, and so here."""
    positive, position, end = True, 0, len(text)
    if text[0] in "+-":
        positive = text[0] == "+"
        position = 1
    while position < end and text[position] == "0":
        position += 1
    if position >= end:
        return positive, "0", "0", "", ""
    start = position
    while position < end and text[position] in DIGITS:
        position += 1
    numerator = text[start:position] or "0"
    if position >= end:
        return positive, text, numerator, "", ""
    denominator = ""
    if text[position] == ".":
        position += 1
        start = position
        while position < end and text[position] in DIGITS:
            position += 1
        denominator = text[start:position]
        if position >= end:
            return positive, text, numerator, denominator, ""
    value, suffix_start = text[:position], position
    while position < end and text[position] in SUFFIX_LETTERS:
        position += 1
    if position < end and text[position] in "+-":
        position += 1
    while position < end and text[position] in DIGITS:
        position += 1
    if position < end:
        raise QuantityError(FORMAT_WRONG)
    return positive, value, numerator, denominator, text[suffix_start:]


def _suffix(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, as quantitySuffixer.interpret reads it."""
    if suffix in DECIMAL_SUFFIXES:
        return 10, DECIMAL_SUFFIXES[suffix], "DecimalSI"
    if suffix in BINARY_SUFFIXES:
        return 2, BINARY_SUFFIXES[suffix], "BinarySI"
    exponent = suffix[1:]
    if len(suffix) > 1 and suffix[0] in "eE" and EXPONENT.fullmatch(exponent):
        parsed = int(exponent)
        if INT64_MIN <= parsed <= INT64_MAX:
            return 10, (parsed + 2**31) % 2**32 - 2**31, "DecimalExponent"  # Go's int32()
    raise QuantityError("unable to parse quantity's suffix")


class Quantity(NamedTuple):
    amount: decimal.Decimal
    int64: bool
    """Kubernetes holds it as an int64 at a scale >= 0 (so ``AsInt64`` succeeds)."""


@lru_cache(maxsize=4096)  # the same few texts come back object after object
def parse(text: str) -> Quantity:
    """The exact value of a quantity, or QuantityError with Kubernetes' message."""
    if not text:
        raise QuantityError(FORMAT_WRONG)
    if text == "0":
        return Quantity(decimal.Decimal(0), int64=True)
    positive, value, numerator, denominator, suffix = _scan(text)
    base, exponent, form = _suffix(suffix)
    # The int64 fast path of ParseQuantity: exact, no rounding. Where it does not apply
    # (too many digits, finer than nano, a fraction with a binary suffix, overflow), the
    # decimal path below rounds up to nano units and caps binary quantities.
    if form == "BinarySI":
        precision = (15 - len(numerator) - exponent * 3 // 10 - 1) if not denominator else -1
        scale, mantissa = 0, 2**exponent
    else:
        precision = 18 - len(numerator) - len(denominator)
        scale, mantissa = exponent, 1
    scale -= len(denominator)
    if precision >= 0 and scale >= -9:
        result = int(numerator + denominator) * mantissa
        if result <= INT64_MAX:
            amount = EXACT.scaleb(decimal.Decimal(result if positive else -result), scale)
            return Quantity(amount, scale >= 0 and INT64_MIN <= amount <= INT64_MAX)
    if not any(c in DIGITS for c in value):
        raise QuantityError("unable to parse numeric part of quantity")
    # copy_abs/copy_negate: abs() and unary minus would round to 28 digits
    amount = decimal.Decimal(value.rstrip(".") or "0").copy_abs()
    if base == 10:
        amount = EXACT.scaleb(amount, exponent)
    else:
        amount = EXACT.multiply(amount, decimal.Decimal(2**exponent))
    if amount and amount.as_tuple().exponent < -9:  # type: ignore[operator]
        amount = amount.quantize(NANO, rounding=decimal.ROUND_UP, context=_ROUNDING)
    if form == "BinarySI" and amount > INT64_MAX:
        amount = decimal.Decimal(INT64_MAX)
    return Quantity(amount if positive else amount.copy_negate(), int64=False)


_ROUNDING = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


@lru_cache(maxsize=4096)
def canonical(amount: decimal.Decimal) -> str:
    """One text per value, so that CEL's map equality is Kubernetes' Quantity.Equal."""
    return "0" if not amount else str(amount.normalize(_ROUNDING))


@lru_cache(maxsize=4096)
def from_canonical(text: str) -> decimal.Decimal:
    return decimal.Decimal(text)


def add(left: Quantity, right: Quantity) -> Quantity:
    return _combine(left, right, EXACT.add(left.amount, right.amount))


def subtract(left: Quantity, right: Quantity) -> Quantity:
    return _combine(left, right, EXACT.subtract(left.amount, right.amount))


def _combine(left: Quantity, right: Quantity, amount: decimal.Decimal) -> Quantity:
    # Kubernetes' int64Amount.Add: a zero operand leaves the other's representation, else the
    # smaller scale, else (overflow) the decimal path. A zero in the decimal path cannot be
    # told from an int64 zero here; it is taken as the latter.
    if not right.amount:
        return Quantity(amount, left.int64)
    if not left.amount:
        return Quantity(amount, right.int64)
    return Quantity(amount, left.int64 and right.int64 and INT64_MIN <= amount <= INT64_MAX)


def compare(left: decimal.Decimal, right: decimal.Decimal) -> int:
    return (left > right) - (left < right)


def sign(amount: decimal.Decimal) -> int:
    return (amount > 0) - (amount < 0)


def as_integer(quantity: Quantity) -> int | None:
    """Kubernetes' ``AsInt64``: the value as an int64, or None."""
    return int(quantity.amount) if quantity.int64 else None


def as_approximate_float(amount: decimal.Decimal) -> float:
    return float(amount)  # the nearest double; ±inf past the range
