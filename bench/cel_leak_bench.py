"""Benchmark: what cel-expr-python leaks per call of a Python function from CEL, by argument
and result type.

    python bench/cel_leak_bench.py [--calls 200000]

Each case is one expression calling a one-line Python function (or none, the baseline),
evaluated ``--calls`` times after 2,000 warm-up evaluations; reported: resident memory grown
per evaluation (bytes) and time per evaluation. Each case runs in a process of its own.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from cel_expr_python import cel

T = cel.Type
LIST, MAP = T.List(T.DYN), T.Map(T.STRING, T.DYN)
# name: (parameters, result type, implementation, expression, value of v)
CASES: dict[str, tuple[list[Any], Any, Callable[..., Any] | None, str, Any]] = {
    "no Python call (v.size() > 0)": ([], T.BOOL, None, "v.size() > 0", "abc"),
    "f() -> bool": ([], T.BOOL, lambda: True, "f()", 0),
    "f() -> str constant": ([], T.STRING, lambda: "abcdef", "f() == 'abcdef'", 0),
    "f() -> new list": ([], LIST, lambda: ["a", "b"], "f().size() == 2", 0),
    "f(bool) -> bool": ([T.BOOL], T.BOOL, lambda a: True, "f(v)", True),
    "f(int) -> bool": ([T.INT], T.BOOL, lambda a: True, "f(v)", 3),
    "f(int, int) -> bool": ([T.INT, T.INT], T.BOOL, lambda a, b: True, "f(v, v)", 3),
    "f(double) -> bool": ([T.DOUBLE], T.BOOL, lambda a: True, "f(v)", 1.5),
    "f(str 'abc') -> bool": ([T.STRING], T.BOOL, lambda a: True, "f(v)", "abc"),
    "f(str 'abc') -> bool, twice": ([T.STRING], T.BOOL, lambda a: True, "f(v) && f(v)", "abc"),
    "f(str of 1,000) -> bool": ([T.STRING], T.BOOL, lambda a: True, "f(v)", "a" * 1000),
    "f(list of 10 ints) -> bool": ([LIST], T.BOOL, lambda a: True, "f(v)", list(range(10))),
    "f(map of 10) -> bool": ([MAP], T.BOOL, lambda a: True, "f(v)", {str(i): i for i in range(10)}),
    "f(str) -> the same str": ([T.STRING], T.STRING, lambda a: a, "f(v) == 'abc'", "abc"),
}


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(name: str, calls: int) -> None:
    parameters, result, implementation, source, value = CASES[name]
    extensions = []
    if implementation is not None:
        overload = cel.Overload("f_0", result, parameters, impl=implementation)
        extensions.append(cel.CelExtension("bench", [cel.FunctionDecl("f", [overload])]))
    env = cel.NewEnv(variables={"v": T.DYN}, extensions=extensions)
    expression = env.compile(source)
    data = {"v": value}
    for _ in range(2000):
        expression.eval(data=data)
    gc.collect()
    before = rss()
    started = time.perf_counter()
    for _ in range(calls):
        expression.eval(data=data)
    elapsed = (time.perf_counter() - started) / calls * 1e6
    gc.collect()
    print(f"{(rss() - before) / calls:8.1f} B/eval {elapsed:6.1f} us  {name}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="cel-expr-python's leak per call")
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run(args.case, args.calls)
        return
    print(f"cel-expr-python, {args.calls:,} evaluations per case, Python {sys.version.split()[0]}")
    for name in CASES:
        command = [sys.executable, __file__, "--calls", str(args.calls), "--case", name]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
