"""The Kubernetes regex library: ``find`` and ``findAll`` (library/regex.go).

Kubernetes uses Go's RE2-syntax engine; Python's ``re`` differs in syntax and meaning (``$``,
``\\w``, POSIX classes, look-arounds). The matching is therefore done by cel-cpp's own RE2,
through its ``regex.replace``, which walks the matches exactly as Go's ``FindAllString`` does
(an empty match right after a match is skipped). Each match is wrapped in two marker
characters that the text does not contain, then read back.
"""

from __future__ import annotations

from functools import lru_cache

from cel_expr_python import cel

_PRIVATE_USE = range(0xE000, 0xF8FF)


@lru_cache(maxsize=1)
def _environment() -> cel.Env:
    config = cel.NewEnvConfigFromYaml("extensions:\n  - name: optional\n  - name: regex\n")
    return cel.NewEnv(config=config, variables={"text": cel.Type.STRING, "marked": cel.Type.STRING})


@lru_cache(maxsize=1024)
def _program(pattern: str, limit_one: bool) -> cel.Expression:
    # The pattern is a literal, so cel-cpp compiles the RE2 program once, not per call.
    # Every character is escaped: the literal must mean exactly the pattern.
    literal = "".join(f"\\U{ord(c):08x}" for c in pattern)
    count = ", 1" if limit_one else ""
    return _environment().compile(f"regex.replace(text, '{literal}', marked{count})")


def _matches(text: str, pattern: str, limit: int) -> list[str]:
    opening, closing = (chr(c) for c in _two_unused(text))
    try:
        program = _program(pattern, limit == 1)
    except RuntimeError as exc:  # an invalid pattern, found when the literal is checked
        raise ValueError(f"Illegal regex: {exc}") from None
    result = program.eval(data={"text": text, "marked": f"{opening}\\0{closing}"})
    if result.type() == cel.Type.ERROR:
        raise ValueError(f"Illegal regex: {result.value()}")
    marked: str = result.value()
    found: list[str] = []
    start = marked.find(opening)
    while start >= 0 and (limit < 0 or len(found) < limit):
        end = marked.index(closing, start)
        found.append(marked[start + 1 : end])
        start = marked.find(opening, end)
    return found


def _two_unused(text: str) -> tuple[int, int]:
    unused = (c for c in _PRIVATE_USE if chr(c) not in text)
    return next(unused), next(unused)


def find(text: str, pattern: str) -> str:
    """The first match, or '' (Go's ``FindString``)."""
    found = _matches(text, pattern, 1)
    return found[0] if found else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    """Every match, at most ``limit`` of them when it is not negative (Go's ``FindAllString``)."""
    if limit == 0:
        _matches(text, pattern, 1)  # an invalid pattern is an error even then
        return []
    return _matches(text, pattern, limit)
