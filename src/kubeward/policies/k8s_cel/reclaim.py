"""Give back what cel-expr-python 0.1.3 keeps on every call of a Python function from CEL.

``PyCelFunctionAdapter::Invoke`` builds the argument tuple (``PyTuple_New``), calls the function
(``PyObject_CallObject``) and never drops its reference to either the tuple or the returned
object, so each call of a Kubernetes library function leaks them (48 bytes to ~1 KiB,
``bench/cel_leak_bench.py``). The engine's source is C++ we cannot patch in a wheel, so this
module drops the forgotten references itself:

- ``reclaiming(function)`` wraps each implementation. The engine builds the argument tuple,
  then converts list and map arguments, then calls: so the tuple is among the newest objects
  the cyclic collector tracks, just before the wrapper's own ``*args`` tuple and those
  converted containers. It is found by following the collector's list back from ``*args``,
  and recognised by its type, length and the identity of every item. The wrapper keeps a
  reference to it and hands the engine a fresh copy of the result, which it keeps too.
- ``begin()`` and ``end()`` surround an evaluation; the collector is paused while any
  evaluation runs in any thread, so nothing moves a tuple before it is found. When the
  outermost evaluation on a thread ends, every object it kept is given back one reference
  **only if its reference count proves that exactly one reference is held by nobody**: ours,
  the count's argument and the engine's forgotten one, nothing else (nobody but the engine ever
  held these objects). An engine that releases what it should leaves counts one lower, and
  nothing is touched. The engine also puts a CEL null into the tuple without a reference of its
  own: each ``None`` in a tuple is counted for ``None`` before the tuple is given back.

``self_test()`` runs the whole cycle once on a probe expression; long-running processes use
it to decide whether policies that call these functions can run in their own process or need
the recycled CEL worker (``policies.cel_worker``). Reading the collector's list needs
CPython's object layout of 3.11 to 3.13 with the GIL, checked before anything is read.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import sysconfig
import threading
from collections.abc import Callable
from functools import cache, wraps
from typing import Any, cast

_GC_HEAD_WORDS = 2
"""``PyGC_Head`` (next, previous) precedes every object the collector tracks."""
_FLAGS = 3
"""The low bits of ``_gc_prev`` the collector uses as flags."""
_LOOK_BACK = 2
"""Objects to walk back besides the containers the engine converted arguments into after it
built the tuple: the wrapper's own ``*args`` tuple, the engine's tuple."""
_TUPLE_TYPE = id(tuple)
_BASE = 4096
# Memory as 64-bit words, read (and a count written) by index: ctypes' ``from_address`` costs
# ~140 ns a read, this ~25 ns. Only addresses of live objects are ever read.
_SPAN = (1 << 45) - 1
"""Words in the view: user space with 48-bit addresses (x86-64, arm64), from ``_BASE`` on."""
try:
    _WORDS = memoryview((ctypes.c_int64 * _SPAN).from_address(_BASE)).cast("B").cast("q")
except (OverflowError, ValueError, MemoryError):  # a 32-bit interpreter: never enabled there
    _WORDS = memoryview(b"").cast("q")
_SCRATCH = ctypes.c_ssize_t(0)
_AS_OBJECT = ctypes.py_object.from_address(ctypes.addressof(_SCRATCH))
"""``_SCRATCH.value = address; _AS_OBJECT.value`` is a new reference to the object there."""


def layout_supported() -> bool:
    """CPython 3.11 to 3.13 with the GIL on 64 bits, without ``Py_TRACE_REFS``: the
    collector's list, tuples and reference counts laid out as read here."""
    return (
        sys.implementation.name == "cpython"
        and (3, 11) <= sys.version_info[:2] <= (3, 13)
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
        and not hasattr(sys, "getobjects")  # Py_TRACE_REFS: two more words in every object
        and ctypes.sizeof(ctypes.c_void_p) == 8
        and len(_WORDS) == _SPAN
        and sys.getsizeof([]) - [].__sizeof__() == 8 * _GC_HEAD_WORDS
    )


class _Ledger(threading.local):
    def __init__(self) -> None:
        self.depth = 0
        self.tuples: list[tuple[Any, ...]] = []
        self.results: list[Any] = []


class _Pause:
    """The cyclic collector is one for the process, evaluations run in several threads (the
    webhook's pool): it is paused while any evaluation runs, and resumed by the last one."""

    lock = threading.Lock()
    running = 0
    paused_by_us = False


_LEDGER = _Ledger()


class _Switch:
    on = False
    """Set by ``self_test`` once the cycle has been shown to work here."""


SWITCH = _Switch()


def _argument_tuple(arguments: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The engine's tuple holding exactly ``arguments``, or None if it cannot be proven. The
    wrapper's ``*args`` tuple is the newest tracked object; the engine's came just before it
    (or before the containers the engine converted arguments into)."""
    words, count = _WORDS, len(arguments)
    ids = [id(item) for item in arguments]
    head = (id(arguments) - _BASE >> 3) - _GC_HEAD_WORDS
    for _ in range(_LOOK_BACK + _containers(arguments)):
        if not 0 <= head < _SPAN - count - 8:
            return None  # outside the view (a negative index would wrap around)
        head = ((words[head + 1] & ~_FLAGS) - _BASE) >> 3
        if not 0 <= head < _SPAN - count - 8:
            return None
        start = head + _GC_HEAD_WORDS  # ob_refcnt, ob_type, ob_size, items...
        if (
            words[start + 1] == _TUPLE_TYPE
            and words[start + 2] == count
            and words[start + 3 : start + 3 + count].tolist() == ids
        ):
            _SCRATCH.value = (start << 3) + _BASE
            return cast("tuple[Any, ...]", _AS_OBJECT.value)
    return None


def _containers(value: Any) -> int:
    """Lists and maps in ``value`` (the engine converts each one after building the tuple)."""
    if type(value) is list or type(value) is tuple:
        return (type(value) is list) + sum(map(_containers, value))
    if type(value) is dict:
        return 1 + sum(map(_containers, value.values()))
    return 0


def _nones(value: Any) -> int:
    """Occurrences of None in converted arguments: the engine puts a CEL null in without a
    reference of its own, so freeing what holds it takes one from None each time."""
    if value is None:
        return 1
    if type(value) is list or type(value) is tuple:
        return sum(map(_nones, value))
    if type(value) is dict:
        return sum(map(_nones, value.values()))
    return 0


def _fresh(result: Any) -> Any:
    """A copy of ``result`` that nothing else refers to, so its count can prove the engine's
    forgotten reference (a cached string would carry extra references)."""
    kind = type(result)
    if kind is str:
        return (result + "\0")[:-1]
    if kind is list:
        return list(result)
    if kind is dict:
        return dict(result)
    if kind is float:
        return result * 1.0  # keeps the sign of -0.0 (adding 0.0 does not)
    if kind is int:
        return result + 0  # a small int is shared whatever we do: its count proves nothing
    return result


def reclaiming(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as the engine should call it (see the module's docstring)."""

    @wraps(function)
    def call(*arguments: Any) -> Any:
        ledger = _LEDGER
        if not ledger.depth or not SWITCH.on or not arguments or gc.isenabled():
            return function(*arguments)  # (a collection could move what the walk follows)
        found = _argument_tuple(arguments)
        if found is not None:
            ledger.tuples.append(found)
            del found  # kept by the ledger only, not by this frame, which a traceback may keep
        result = _fresh(function(*arguments))
        ledger.results.append(result)
        return result

    return call


def begin() -> None:
    """Before an evaluation that may call ``reclaiming`` functions; ``end`` after it, in a
    ``finally``. The collector is paused in between, so the tuples stay where they are found."""
    with _Pause.lock:
        _Pause.running += 1
        if _Pause.running == 1 and gc.isenabled():
            gc.disable()
            _Pause.paused_by_us = True
    _LEDGER.depth += 1


def end() -> int:
    """After an evaluation (``begin``): how many forgotten references were given back."""
    ledger = _LEDGER
    ledger.depth = max(0, ledger.depth - 1)
    dropped = 0
    try:
        if not ledger.depth:
            # the tuples first: one may hold a result (a list's element returned by ``min``)
            dropped = _give_back(ledger.tuples) + _give_back(ledger.results)
    finally:
        ledger.tuples.clear()
        ledger.results.clear()
        with _Pause.lock:
            _Pause.running = max(0, _Pause.running - 1)
            if not _Pause.running and _Pause.paused_by_us:
                _Pause.paused_by_us = False
                gc.enable()
    return dropped


def _give_back(kept: list[Any]) -> int:
    """Drop the engine's forgotten reference of each object kept; how many were dropped."""
    words, dropped = _WORDS, 0
    for index in range(len(kept)):
        # counted: the argument of getrefcount, the list's slot, and the engine's reference;
        # the count stays at least 1 (the slot), so the word is written, not Py_DecRef called
        word = (id(kept[index]) - _BASE) >> 3
        if sys.getrefcount(kept[index]) == 3 and 0 <= word < _SPAN:
            if type(kept[index]) is tuple:
                # the nulls the tuple frees were never counted: count them first (more than
                # are freed only leaves None, which is never freed, with a higher count)
                words[(id(None) - _BASE) >> 3] += _nones(kept[index])
            words[word] -= 1
            dropped += 1
    kept.clear()
    return dropped


@cache
def self_test() -> bool:
    """Whether the engine's forgotten references are given back in this process: the layout
    is the one read here, and a probe call's tuple and result are found, each with exactly one
    reference from nobody. Enables the mechanism when all of it holds. (How the engine hands
    nulls over cannot be seen in one call, None's count moves with everything else: that is
    why the engine's version is pinned, and tests/test_cel_reclaim.py watches None's count
    over thousands of evaluations.)"""
    if not layout_supported():
        return False
    from cel_expr_python import cel

    seen: list[int] = []

    def probe(text: str, items: list[Any]) -> str:
        seen.append(len(text) + len(items))
        return text.upper()

    parameters = [cel.Type.STRING, cel.Type.List(cel.Type.DYN)]
    overload = cel.Overload("kubeward_reclaim_probe", cel.Type.STRING, parameters,
                            impl=reclaiming(probe))  # fmt: skip
    extension = cel.CelExtension("kubeward.reclaim", [cel.FunctionDecl("probe", [overload])])
    try:
        env = cel.NewEnv(variables={"v": cel.Type.STRING}, extensions=[extension])
        expression = env.compile("probe(v, [null, 1, [null]]) == 'ABC-DEF'")
    except RuntimeError:  # an engine that no longer takes this: nothing shown
        return False
    ledger = _LEDGER
    SWITCH.on = True
    begin()
    try:
        outcome = expression.eval(data={"v": "abc-def"}).value()
        kept = [*ledger.tuples, *ledger.results]
        counts = [sys.getrefcount(kept[i]) for i in range(len(kept))]
        # each in ``kept`` and the ledger, plus getrefcount's argument and the engine's own
        shown = outcome is True and seen == [10] and counts == [4, 4]
        shown = shown and kept[0] == ("abc-def", [None, 1, [None]])
        del kept
        if not shown:  # nothing is given back
            ledger.tuples.clear()
            ledger.results.clear()
    finally:
        dropped = end()
    SWITCH.on = shown and dropped == 2
    return SWITCH.on
