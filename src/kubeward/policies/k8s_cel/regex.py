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
def _replace() -> tuple[cel.Expression, cel.Expression]:
    config = cel.NewEnvConfigFromYaml("extensions:\n  - name: optional\n  - name: regex\n")
    variables = {"text": cel.Type.STRING, "pattern": cel.Type.STRING, "marked": cel.Type.STRING}
    env = cel.NewEnv(config=config, variables=variables)
    every = env.compile("regex.replace(text, pattern, marked)")
    first = env.compile("regex.replace(text, pattern, marked, 1)")
    return every, first


def _matches(text: str, pattern: str, limit: int) -> list[str]:
    opening, closing = (chr(c) for c in _two_unused(text))
    every, first = _replace()
    program = first if limit == 1 else every
    data = {"text": text, "pattern": pattern, "marked": f"{opening}\\0{closing}"}
    result = program.eval(data=data)
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
