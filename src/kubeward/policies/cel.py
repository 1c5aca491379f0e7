"""CEL for users' policies: one environment, compiled expressions, evaluation per object.

Engine: ``cel-expr-python`` (the official cel-cpp binding) with the strings and optional
extensions, so the idioms of ValidatingAdmissionPolicy work (``object.spec.?x.orValue(...)``,
``lowerAscii()``, ``split``). The variables are those of a VAP: at scan time only ``object`` is
set (the others are ``null``), at admission ``oldObject`` too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings

VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject")
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


class CelError(ValueError):
    """An expression that does not compile (with the line and column inside it)."""

    def __init__(self, message: str, line: int = 1, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.column = line, column


class CelEvaluationError(RuntimeError):
    """An expression failed on an object (missing field, wrong type) or did not give a bool."""


@lru_cache(maxsize=1)
def environment() -> cel.Env:
    variables = dict.fromkeys(VARIABLES, cel.Type.DYN)
    extensions = [ext_strings.ExtStrings(), ext_optional.ExtOptional()]
    return cel.NewEnv(variables=variables, extensions=extensions)


class Expression:
    """A compiled boolean expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._compiled = environment().compile(source)
        except RuntimeError as exc:
            found = _POSITION.search(str(exc))
            if found is None:
                raise CelError(str(exc).removeprefix("INVALID_ARGUMENT: ")) from None
            raise CelError(found.group(3), int(found.group(1)), int(found.group(2))) from None

    def holds(self, data: Mapping[str, Any]) -> bool:
        """Evaluate with ``data`` (missing variables are null); raises CelEvaluationError."""
        values = {name: data.get(name) for name in VARIABLES}
        result = self._compiled.eval(data=values)
        if result.type() == cel.Type.ERROR:
            raise CelEvaluationError(f"{self.source!r}: {result.value()}")
        value = result.value()
        if not isinstance(value, bool):
            raise CelEvaluationError(f"{self.source!r} gave {value!r}, not true or false")
        return value
