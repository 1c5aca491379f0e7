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

from kubeward.policies import k8s_cel
from kubeward.policies.k8s_cel import reclaim

VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject")
_NAMESPACE_OBJECT = re.compile(r"\bnamespaceObject\b")
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


_OPTIONAL = object()
"""What ``holds`` found when the engine could not hand its value to Python (an optional)."""


class CelError(ValueError):
    """An expression that does not compile (with the line and column inside it)."""

    def __init__(self, message: str, line: int = 1, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.column = line, column


class CelEvaluationError(RuntimeError):
    """An expression failed on an object (missing field, wrong type) or did not give a bool."""


@lru_cache(maxsize=1)
def environment() -> cel.Env:
    """Where expressions compile: the Kubernetes functions are declared with their opaque
    types, so a type error is a compile error as in the API server."""
    variables = dict.fromkeys(VARIABLES, cel.Type.DYN)
    extensions = [ext_strings.ExtStrings(), ext_optional.ExtOptional(),
                  k8s_cel.checker_extension()]  # fmt: skip
    config = cel.NewEnvConfigFromYaml(k8s_cel.CHECKER_CONFIG)
    return cel.NewEnv(config=config, variables=variables, extensions=extensions,
                      functions=k8s_cel.checker_functions())  # fmt: skip


@lru_cache(maxsize=1)
def runtime() -> cel.Env:
    """Where checked expressions run: the same functions implemented in Python over tagged
    values (cel-expr-python cannot pass opaque values to Python; see k8s_cel). What the
    engine leaks on each call of them is given back where ``reclaim.self_test`` passes."""
    reclaim.self_test()
    variables = dict.fromkeys(VARIABLES, cel.Type.DYN)
    extensions = [ext_strings.ExtStrings(), ext_optional.ExtOptional(),
                  k8s_cel.runtime_extension()]  # fmt: skip
    return cel.NewEnv(variables=variables, extensions=extensions)


class Variables:
    """The variables of one evaluation, bound once for every expression that reads them.

    Passing ``data=`` to each evaluation converted the whole object again every time (~44 µs
    for a Deployment's admission request); an activation is bound once (~3 µs) and converts
    what expressions read as they read it: five expressions on one object took 222 µs one by
    one and 58 µs on one activation (measured 2026-11-27; BENCHMARKS.md).
    """

    __slots__ = ("activation",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        values = {name: data.get(name) for name in VARIABLES}
        try:
            self.activation = runtime().Activation(data=values)
        except RuntimeError as exc:  # a value the binding cannot convert
            raise CelEvaluationError(str(exc)) from None


class Expression:
    """A compiled boolean expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            checked = environment().compile(source)
        except RuntimeError as exc:
            found = _POSITION.search(str(exc))
            if found is None:
                raise CelError(str(exc).removeprefix("INVALID_ARGUMENT: ")) from None
            raise CelError(found.group(3), int(found.group(1)), int(found.group(2))) from None
        serialized = checked.serialize()
        self._compiled = runtime().deserialize(serialized)
        self.reads_namespace = _NAMESPACE_OBJECT.search(source) is not None
        """It names ``namespaceObject``, which the webhook must look up in the cluster."""
        self.leaking_functions = k8s_cel.leaking_functions(serialized)
        """Kubernetes library functions it calls, each call of which leaks in the engine unless
        ``k8s_cel.reclaim`` gives the references back: fine in a scan; long-running servers
        where that cannot be done evaluate it in the CEL worker (``cel_worker``)."""

    def holds(self, data: Mapping[str, Any] | Variables) -> bool:
        """Evaluate with ``data`` (missing variables are null), or with ``Variables`` shared by
        several expressions; raises CelEvaluationError."""
        try:
            variables = data if isinstance(data, Variables) else Variables(data)
            try:
                reclaim.begin()  # gives back what the engine keeps (k8s_cel.reclaim)
                result = self._compiled.eval(activation=variables.activation)
                kind = result.type()
                failed = kind == cel.Type.ERROR
                # the engine's value() of a null takes a reference from None it never had
                # (each evaluation one less, until the interpreter aborts): never asked
                try:
                    value = None if kind == cel.Type.NULL else result.value()
                except TypeError:  # an optional: the binding cannot hand it to Python
                    value = _OPTIONAL
                del result  # the engine's last value goes before its references are counted
            finally:
                reclaim.end()
        except RuntimeError as exc:  # a value the binding cannot convert (e.g. optional in a map)
            raise CelEvaluationError(f"{self.source!r}: {exc}") from None
        if value is _OPTIONAL:  # (the engine calls its type ERROR)
            raise CelEvaluationError(f"{self.source!r} gave an optional value, not true or false")
        if failed:
            raise CelEvaluationError(f"{self.source!r}: {value}")
        if not isinstance(value, bool):
            raise CelEvaluationError(f"{self.source!r} gave {value!r}, not true or false")
        return value
