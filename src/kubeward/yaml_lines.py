"""Reading YAML that kubeward validates itself, and the lines of paths in it.

Shared by everything that validates a YAML document it reads itself (kubeward.yaml, policy
files, policy tests, Rego METADATA): :func:`load_one` and :func:`load_all` parse the text once
into the composed tree (for :func:`node_line`) and its values, and turn every way the text can
be unusable into one :class:`YamlProblem` with a line: a syntax error, a duplicate key (which
PyYAML would silently resolve to the last value) and a value its tag cannot take (a date such as
``2027-02-30``, on which PyYAML raises a bare ``ValueError``). Manifests are read by
``sources.yaml_exact`` instead, which keeps Kubernetes' reading of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from kubeward.model import format_path

_WHAT = {
    "tag:yaml.org,2002:timestamp": "date",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:bool": "boolean",
}


class YamlProblem(Exception):
    """The text is not YAML kubeward can take; ``message`` names what (never a value)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        """In the file: counted from the ``first_line`` given (1 by default)."""


class _InvalidValue(Exception):
    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


class _Loader(yaml.CSafeLoader):
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, _InvalidValue):
            raise
        # The safe constructors' own failures on a malformed scalar: int()/float()/date()
        # raise ValueError, an unknown boolean KeyError, a non-date !!timestamp AttributeError.
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as exc:
            what = _WHAT.get(node.tag, f"{node.tag} value")
            # Only the date's own reason ("day is out of range for month") is shown: the others
            # would quote the value, and no value is echoed (it could be a secret).
            detail = f" ({exc})" if what == "date" and isinstance(exc, ValueError) else ""
            raise _InvalidValue(node, f"invalid {what}{detail}") from None


def load_one(text: str, *, first_line: int = 1) -> tuple[yaml.Node | None, Any]:
    """The single document of ``text``: its composed tree and its value (None, None if empty).

    ``first_line`` is the file line of the text's first line (for the lines of problems; the
    tree's marks stay relative to the text). Raises :class:`YamlProblem`."""
    loader = _Loader(text)
    try:
        node = _guarded(loader.get_single_node, first_line)
        return node, _construct(loader, node, first_line) if node is not None else None
    finally:
        loader.dispose()


def load_all(text: str) -> list[tuple[yaml.Node, Any]]:
    """Every document of ``text``: its composed tree and its value. Raises :class:`YamlProblem`."""
    loader = _Loader(text)
    out: list[tuple[yaml.Node, Any]] = []
    try:
        while _guarded(loader.check_node, 1):
            node = _guarded(loader.get_node, 1)
            out.append((node, _construct(loader, node, 1)))
    finally:
        loader.dispose()
    return out


def _guarded(step: Any, first_line: int) -> Any:
    try:
        return step()
    except yaml.YAMLError as exc:
        raise _problem(exc, first_line) from None


def _problem(exc: yaml.YAMLError, first_line: int) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return YamlProblem(f"invalid YAML: {problem}", mark.line + first_line if mark else None)


def _construct(loader: _Loader, node: yaml.Node, first_line: int) -> Any:
    _check_duplicates(node, (), set(), first_line)
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _problem(exc, first_line) from None
    except _InvalidValue as exc:
        path = _path_to(node, exc.node, (), set())
        where = f"{format_path(path)}: " if path else ""
        line = exc.node.start_mark.line + first_line
        raise YamlProblem(f"{where}{exc.reason}", line) from None


def _check_duplicates(
    node: yaml.Node, path: tuple[str | int, ...], seen: set[int], first_line: int
) -> None:
    """Raise on the first key repeated in a mapping, at any depth (the second occurrence)."""
    if id(node) in seen:  # an alias: checked where it was anchored
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + first_line
                here = (*path, key.value)
                if (key.tag, key.value) in first:
                    raise YamlProblem(
                        f"duplicate key {format_path(here)} (also on line "
                        f"{first[key.tag, key.value]})",
                        line,
                    )
                first[key.tag, key.value] = line
                _check_duplicates(value, here, seen, first_line)
            else:
                _check_duplicates(value, path, seen, first_line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicates(item, (*path, index), seen, first_line)


def _path_to(
    node: yaml.Node, target: yaml.Node, path: tuple[str | int, ...], seen: set[int]
) -> tuple[str | int, ...] | None:
    """The path from ``node`` down to ``target`` (a node of its tree), else None."""
    if node is target:
        return path
    if id(node) in seen:
        return None
    seen.add(id(node))
    children: list[tuple[str | int, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            label = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if key is target:
                return (*path, label)
            children.append((label, value))
    elif isinstance(node, yaml.SequenceNode):
        children = list(enumerate(node.value))
    for label, child in children:
        found = _path_to(child, target, (*path, label), seen)
        if found is not None:
            return found
    return None


def node_line(root: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """Line of a path in a composed YAML tree (for error messages)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            # The last match: constructing a mapping with a ``<<`` merge puts the merged keys
            # before its own, and its own win.
            for key, value in reversed(node.value):
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
