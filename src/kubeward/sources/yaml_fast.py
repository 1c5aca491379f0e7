"""The fast YAML path: rapidyaml parses, emits JSON, orjson builds the Python values.

rapidyaml is ~14x faster than PyYAML's C loader on large manifest sets
(``../shared/notes/dependency-measurements.md`` §2), but it types some plain scalars differently
from Kubernetes (YAML 1.2-ish: ``yes`` stays a string, ``017`` is not octal, ``nan`` becomes
``.nan``) and neither reports duplicate keys nor bounds alias expansion. So it is trusted only
with documents that provably avoid every construct where the two readings disagree; anything
else goes to the exact loader (``yaml_exact``), which implements Kubernetes' semantics. Two
cheap stages keep that rare:

1. Structure, from the text (``structure_needs_exact``): anchors, aliases, tags, merge keys,
   directives, complex keys, tabs, carriage returns, block-scalar indentation indicators,
   reserved indicators, deep nesting. A substring test finds candidate documents, a regex
   confirms.
2. Scalars, from the values (``scan_values``): strings such as ``yes``, ``~``, ``0755``,
   ``1_000``, ``.nan`` or ``2001-12-14`` are what a plain YAML 1.1 scalar becomes when
   rapidyaml leaves it untyped; for those documents ``plain_special`` checks the text for such
   a *plain* scalar (a quoted ``"yes"`` is a string in both readings). The same pass counts the
   values: a duplicate key collapses into one dict entry, so fewer values than rapidyaml nodes
   means a duplicate, which the exact loader reports.

Any rapidyaml or orjson error also falls back to the exact loader, which reports it precisely.
``tests/sources/test_yaml_equivalence.py`` checks with hypothesis that both paths agree.

Locations: rapidyaml keeps, for each node, a pointer into the parsed buffer; ``FastLocator``
re-parses a document on demand and turns those pointers into line numbers.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import ryml

from kubeward.model import Path, PathPart
from kubeward.sources import yaml_exact

_NONE = ryml.NONE
# The SWIG functions behind ryml.Tree's methods: each method is a Python-level wrapper around
# one of these, and locating calls them ~10 times per finding (rapidyaml is pinned to 0.15.x).
# They are given the tree's ``this`` (the SWIG pointer object), not the ``ryml.Tree`` proxy:
# unwrapping a proxy looks its ``this`` up as an attribute on every call (measured: 330 ns per
# call with the proxy, 55-100 ns with ``this``).
_tree_api: Any = ryml._ryml
_root_id = _tree_api.Tree_root_id
_is_stream = _tree_api.Tree_is_stream
_has_key = _tree_api.Tree_has_key
_has_val = _tree_api.Tree_has_val
_key = _tree_api.Tree_key
_val = _tree_api.Tree_val
_val_is_null = _tree_api.Tree_val_is_null
_has_children = _tree_api.Tree_has_children
_first_child = _tree_api.Tree_first_child
_child = _tree_api.Tree_child
_next_sibling = _tree_api.Tree_next_sibling
_num_children = _tree_api.Tree_num_children
_find_child = _tree_api.Tree_find_child
_is_seq = _tree_api.Tree_is_seq
_is_map = _tree_api.Tree_is_map
_is_val_literal = _tree_api.Tree_is_val_literal
_is_val_folded = _tree_api.Tree_is_val_folded
_is_val_quoted = _tree_api.Tree_is_val_quoted
_parent = _tree_api.Tree_parent

_TOKEN_START = rb"(?:^|(?<=[\s\[\{,]))"
_TOKEN_END = rb"(?=$|[\s,\]\}:#])"
# Indicators that only matter at the start of a token (after whitespace, "[", "{" or ","):
# anchors, aliases, tags, reserved indicators, merge keys. Each pattern starts with a literal,
# which lets the regex engine skip ahead with a fast substring search (one alternation over
# all of them ran at ~70 MB/s; these at ~2 GB/s). The character before is checked in Python.
_TOKEN_INDICATORS = tuple(
    re.compile(pattern)
    for pattern in (rb"&[A-Za-z0-9_-]", rb"\*[A-Za-z0-9_-]", rb"![^\s]", rb"@", rb"`", rb"<<")
)
_BEFORE_TOKEN = frozenset(b" \t\n\r\f\v[{,")
# Block scalar indentation indicators ("|2", ">-1").
_BLOCK_INDICATORS = (re.compile(rb"\|[-+]?[0-9]"), re.compile(rb">[-+]?[0-9]"))
# A plain scalar starting with ":" (reserved, rejected by Kubernetes' parser) or a ":" right
# before a flow indicator: rapidyaml accepts both. (Literal first, as above: eight two-byte
# substring tests cost five times this one search.)
_ODD_COLON = re.compile(rb":(?:(?<=[\n \[{,]:)|[\]},])")
_DIRECTIVE = re.compile(rb"%(?<=\n%)")
_COMPLEX_KEY = re.compile(rb"^[ \t]*\?(?:[ \t]|$)", re.M)
_PLAIN_SPECIAL = re.compile(
    _TOKEN_START + rb"(?:[-+0-9][^\s,\]\}:#]*_[^\s,\]\}#]*"
    rb"|(?:~|[yYnN]|[yY]es|YES|[nN]o|NO|[oO]n|ON|[oO]ff|OFF|True|TRUE|False|FALSE|Null|NULL"
    rb"|[-+]?\.?(?i:nan|inf|infinity)"
    rb"|\+[^\s]*|-?0[0-9xXoObBeE_][^\s,\]\}]*"
    rb"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[^\s,\]\}]*"
    rb"|[-+.]?[0-9][^\s,\]\}:]*(?=:(?:\s|$)))" + _TOKEN_END + rb")",
    re.M,
)
_MAX_FAST_NESTING_CHARS = 256
_BLANK_OR_QUOTE = frozenset(b" \t\r\n\"'")
_OPENERS = frozenset(b"[{")
_COLON = frozenset(b":")


def _skip(data: bytes, at: int, end: int, chars: frozenset[int]) -> int:
    while at < end and data[at] in chars:
        at += 1
    return at


_SHORT_SEQUENCE = 16
_LINE_CHUNK = 1 << 16
_DEEP_INDENT = b"\n" + b" " * 256

_SPECIAL_WORDS = frozenset(
    (
        *("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"),
        *("on", "On", "ON", "off", "Off", "OFF", "True", "TRUE", "False", "FALSE"),
        *("Null", "NULL", "~", "<<"),
    )
)
_SPECIAL_NUMERIC = re.compile(
    r"[-+]?(?:0[0-9xXoObBeE_]|[0-9]*_|\.?(?:nan|inf|infinity|NaN|Inf|NAN|INF))"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|\+|[-+]?\.[^0-9]"
)
_NUMERIC_START = frozenset("+-.0123456789")
_RESERVED_START = frozenset(":@`")


def structure_needs_exact(doc: bytes) -> bool:
    """Stage 1: does the document use YAML structure the fast path does not reproduce?"""
    return too_nested(doc, 0, len(doc)) or structure_outside_nesting(doc)


def too_nested(data: bytes, start: int, end: int) -> bool:
    """Might ``data[start:end]`` nest deeper than the exact loader's depth limit?"""
    flow = data.count(b"[", start, end) + data.count(b"{", start, end)
    return flow > _MAX_FAST_NESTING_CHARS or data.find(_DEEP_INDENT, start, end) != -1


def structure_outside_nesting(doc: bytes) -> bool:
    """``structure_needs_exact`` without the nesting test. It holds for a stream if it holds
    for any of its documents, so one pass over a whole file clears all of them."""
    if _DEEP_INDENT in doc:
        return True
    if doc[:1] in (b"&", b"*", b"!", b"@", b"`", b":", b"<", b"%", b"?"):
        return True
    if _DIRECTIVE.search(doc) or ((b"?" in doc) and _COMPLEX_KEY.search(doc) is not None):
        return True
    if _ODD_COLON.search(doc) is not None:
        return True
    if b"\t" in doc or b"\r" in doc:
        return True
    if any(pattern.search(doc) is not None for pattern in _BLOCK_INDICATORS):
        return True
    before = _BEFORE_TOKEN
    for pattern in _TOKEN_INDICATORS:
        for match in pattern.finditer(doc):
            start = match.start()
            if start and doc[start - 1] in before:
                return True
    return False


def plain_special(doc: bytes) -> bool:
    """Does the text hold a plain scalar that go-yaml v2 types differently from rapidyaml?"""
    return _PLAIN_SPECIAL.search(doc) is not None


def needs_exact(doc: bytes) -> bool:
    """True if rapidyaml might read ``doc`` differently from Kubernetes (text checks only)."""
    return structure_needs_exact(doc) or plain_special(doc)


def _string_suspicious(text: str) -> bool:
    return bool(text) and (
        text in _SPECIAL_WORDS
        or (text[0] in _NUMERIC_START and _SPECIAL_NUMERIC.match(text) is not None)
        or text[0] in _RESERVED_START
    )


_KEY_STARTS = _NUMERIC_START | _RESERVED_START
_clean_keys: set[str] = set()
"""Keys already screened clean. orjson reuses one string object per distinct key, and a
corpus has few distinct keys, so ``issuperset`` (a loop in C over hashed strings) clears
most mappings at once: screening the 20k-object corpus took 0.43 s with a Python loop over
every key, 0.38 s with this. Bounded, for long-running processes."""
_CLEAN_KEYS_MAX = 50_000


def scan_values(value: Any) -> tuple[int, bool]:
    """Count the values below ``value`` and tell whether a string may be a YAML 1.1 scalar."""
    if type(value) is not dict and type(value) is not list:
        return 0, isinstance(value, str) and _string_suspicious(value)
    count = 0
    suspicious = False
    stack = [value]
    pop, push = stack.pop, stack.append
    words, starts, numeric = _SPECIAL_WORDS, _NUMERIC_START, _SPECIAL_NUMERIC.match
    key_starts = _KEY_STARTS
    reserved = _RESERVED_START
    clean_keys = _clean_keys
    if len(clean_keys) > _CLEAN_KEYS_MAX:
        clean_keys.clear()
    while stack:
        node = pop()
        if type(node) is dict:
            count += len(node)
            if not suspicious and not clean_keys.issuperset(node):
                for key in node:
                    if not key or key in words or key[0] in key_starts:
                        suspicious = True
                        break
                else:
                    clean_keys.update(node)
            values: Any = node.values()
        else:
            count += len(node)
            values = node
        for item in values:
            kind = type(item)
            if kind is str:
                if (
                    not suspicious
                    and item
                    and (
                        item in words
                        or item[0] in reserved
                        or (item[0] in starts and numeric(item) is not None)
                    )
                ):
                    suspicious = True
            elif kind is dict or kind is list:
                push(item)
    return count, suspicious


_devnull: int | None = None


@contextmanager
def _silenced_stderr() -> Iterator[None]:
    """rapidyaml prints its parse errors to file descriptor 2 before raising; a rejected fast
    path is not the user's business (the exact loader reports real errors), so hide them."""
    global _devnull  # noqa: PLW0603 - one descriptor for the process, opened on first use
    if _devnull is None:
        _devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    try:
        os.dup2(_devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FastPathRejected(Exception):
    """The fast path cannot vouch for this input; use the exact loader."""


def parse_stream(data: bytes | memoryview) -> tuple[list[Any], int]:
    """rapidyaml → JSON → orjson: one value per document, and rapidyaml's node count.

    The node count excludes the stream node, so without duplicate keys it equals
    ``len(values) + sum(scan_values(v)[0] for v in values)``.
    Raises ``FastPathRejected`` on any parse error.
    """
    try:
        with _silenced_stderr():
            tree = ryml.parse_in_arena(data)
        emitted = ryml.emit_json(tree)
        values = orjson.loads(emitted) if emitted is not None else None
    except Exception as exc:  # rapidyaml and orjson raise assorted types; all mean "not here"
        raise FastPathRejected(str(exc)) from None
    if emitted is None:
        return [], 0
    if tree.is_stream(tree.root_id()):
        if not isinstance(values, list):
            raise FastPathRejected("unexpected stream shape")
        return values, tree.size() - 1
    return [values], tree.size()


def node_count(data: bytes) -> int:
    """How many nodes rapidyaml's tree of ``data`` has (the stream node excluded), to compare
    with a value's count (``scan_values``); raises ``FastPathRejected`` on a parse error."""
    try:
        with _silenced_stderr():
            tree = ryml.parse_in_arena(data)
    except Exception as exc:  # rapidyaml raises assorted types; all mean "not here"
        raise FastPathRejected(str(exc)) from None
    return int(tree.size()) - (1 if tree.is_stream(tree.root_id()) else 0)


class _PyBuffer(ctypes.Structure):
    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int)
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_PyBuffer),)
_release_buffer.restype = None
_info = _PyBuffer()
_info_ref = ctypes.byref(_info)


def _address(view: Any) -> int:
    """Address of the first byte of a buffer-protocol object (rapidyaml's read-only views).

    rapidyaml's Python API exposes node keys and values as memoryviews into the parsed buffer
    but no source positions; the C buffer API (stable ABI) gives their addresses, and the
    distance to the start of the buffer is the node's byte offset.
    """
    _get_buffer(view, _info_ref, 0)
    address = int(_info.buf or 0)
    _release_buffer(_info_ref)
    return address


def _view_address_offset() -> int | None:
    """Where a memoryview object keeps the address of its first byte, if it can be found.

    ``_address`` makes two foreign calls through ctypes (~0.8 us); locating calls it ~90,000
    times on the 20k-object corpus. A memoryview object holds that address in one of its
    first words (CPython's ``Py_buffer.buf``), so reading the word directly costs ~0.1 us. The
    word is found here by comparison with ``_address`` on two views of a probe buffer, at two
    different addresses; where no word matches both (another layout), ``_address`` is used.
    """
    probe = bytearray(64)
    views = (memoryview(probe), memoryview(probe)[7:])
    wanted = [_address(view) for view in views]
    for offset in range(0, memoryview.__basicsize__ - 7, 8):
        if all(
            ctypes.c_void_p.from_address(id(view) + offset).value == address
            for view, address in zip(views, wanted, strict=True)
        ):
            return offset
    return None


_VIEW_ADDRESS_OFFSET = _view_address_offset()
_word_at = ctypes.c_void_p.from_address


def _view_address(view: memoryview) -> int:
    """``_address`` of a memoryview (read from the view itself when possible)."""
    if _VIEW_ADDRESS_OFFSET is None:
        return _address(view)
    return _word_at(id(view) + _VIEW_ADDRESS_OFFSET).value or 0


class ParsedBuffer:
    """A text parsed in place by rapidyaml, for mapping nodes back to byte offsets.

    Only the most recently used buffer keeps its tree: objects are judged in file order, so one
    tree at a time serves every lookup while bounding memory (a whole corpus of trees would
    cost more than its Python objects).
    """

    __slots__ = ("_base", "_buffer", "_handle", "_items", "_tree", "data", "end", "start")
    _current: ParsedBuffer | None = None

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data = data
        self.start = start
        self.end = end
        self._tree: Any = None
        self._handle: Any = None
        self._buffer: bytearray | None = None
        self._base = 0
        self._items: dict[int, list[int]] = {}
        """The children of long sequences, by node: rapidyaml finds the n-th child by walking
        n siblings, so locating in every item of a 6,000-item List was quadratic (53 s)."""

    def tree(self) -> Any:
        """The tree's SWIG handle (``ryml.Tree().this``), for the ``Tree_*`` functions above."""
        if self._handle is None:
            previous = ParsedBuffer._current
            if previous is not None and previous is not self:
                previous._tree = previous._handle = previous._buffer = None
                previous._items = {}
            self._buffer = bytearray(memoryview(self.data)[self.start : self.end])
            self._tree = ryml.parse_in_place(self._buffer)  # parsed once already: no error output
            self._handle = self._tree.this
            self._base = _address(self._buffer)
            ParsedBuffer._current = self
        return self._handle

    def item(self, node: int, index: int) -> int:
        """Child ``index`` of sequence ``node`` of the current tree (``NONE`` if there is none)."""
        tree = self._handle
        children = self._items.get(node)
        if children is None:
            if _num_children(tree, node) <= _SHORT_SEQUENCE:
                return int(_child(tree, node, index))
            children = self._items[node] = []
            child = _first_child(tree, node)
            while child != _NONE:
                children.append(child)
                child = _next_sibling(tree, child)
        return children[index] if 0 <= index < len(children) else _NONE

    def offset(self, view: Any) -> int:
        """Offset in ``data`` of a node's key or value view."""
        return self.start + _view_address(view) - self._base


class _NoPosition(Exception):
    """A node rapidyaml's tree has no text position for."""


class ExactLines:
    """Lines recorded by the exact loader; a missing path takes its deepest recorded parent."""

    __slots__ = ("first_line", "recorded")

    def __init__(self, recorded: dict[Path, int], first_line: int) -> None:
        self.recorded = recorded
        self.first_line = first_line

    def lines(self, paths: Sequence[Path]) -> list[int | None]:
        out: list[int | None] = []
        for path in paths:
            depth = len(path)
            while depth and path[:depth] not in self.recorded:
                depth -= 1
            out.append(self.recorded[path[:depth]] if depth else self.first_line)
        return out


class FastLocator:
    """Maps paths in one document (parsed by the fast path) to file lines."""

    __slots__ = (
        *("_chunk_lines", "_doc_start", "_exact", "_root_node", "_source"),
        *("doc_end", "doc_index", "first_line"),
    )

    @property
    def source(self) -> ParsedBuffer:
        return self._source

    @property
    def doc_start(self) -> int:
        return self._doc_start

    def __init__(
        self,
        source: ParsedBuffer,
        doc_index: int | None,
        doc_start: int,
        doc_end: int,
        first_line: int,
    ) -> None:
        self._source = source
        self.doc_index = doc_index
        """Position of the document in a whole-stream buffer; None for a one-document buffer."""
        self._doc_start = doc_start
        self.doc_end = doc_end
        self.first_line = first_line
        self._root_node: int | None = None
        self._exact: ExactLines | None = None
        self._chunk_lines = [0]
        """Line breaks before each ``_LINE_CHUNK`` boundary of the document, as far as needed."""

    def _root(self, tree: Any) -> int:
        root = _root_id(tree)
        if not _is_stream(tree, root):
            return int(root)
        return int(_child(tree, root, self.doc_index or 0))

    def _node_line(self, tree: Any, node: int) -> int:
        # Line starts come from the original text: parsing in place may rewrite scalars.
        offset = self._node_offset(tree, node)
        start, data = self._doc_start, self._source.data
        if offset - start <= _LINE_CHUNK:
            return self.first_line + data.count(b"\n", start, offset)
        # A large document (a `kubectl get -o json` dump, a long List): counting from its start
        # for every node was quadratic; count from the nearest chunk boundary instead.
        chunk = (offset - start) // _LINE_CHUNK
        counts = self._chunk_lines
        while len(counts) <= chunk:
            begin = start + (len(counts) - 1) * _LINE_CHUNK
            counts.append(counts[-1] + data.count(b"\n", begin, begin + _LINE_CHUNK))
        return (
            self.first_line + counts[chunk] + data.count(b"\n", start + chunk * _LINE_CHUNK, offset)
        )

    def _node_offset(self, tree: Any, node: int) -> int:
        has_key = _has_key(tree, node)
        data = self._source.data
        if has_key:
            view = _key(tree, node)
        elif (
            _has_val(tree, node)
            and not _val_is_null(tree, node)
            # an empty quoted item ('apiGroups: [""]') has a position: inside its quotes
            and (len(_val(tree, node)) or _is_val_quoted(tree, node))
        ):
            view = _val(tree, node)
        elif _has_children(tree, node):
            # An item that is a collection starts where its first entry does, unless it is a
            # flow collection ("[", "{": JSON's way): then at its bracket, as libyaml says.
            offset = self._node_offset(tree, _first_child(tree, node))
            before = offset - 1
            while before >= self._doc_start and data[before] in _BLANK_OR_QUOTE:
                before -= 1
            return before if before >= self._doc_start and data[before] in _OPENERS else offset
        else:
            # An empty item ("- {}", "-", "[{}]"): rapidyaml keeps no position for it.
            return self._empty_item_offset(tree, node)
        offset = self._source.offset(view)
        if not has_key and (_is_val_literal(tree, node) or _is_val_folded(tree, node)):
            # A block scalar item: its content starts below the "- |" line it belongs to.
            offset = max(
                data.rfind(b"|", self._doc_start, offset), data.rfind(b">", self._doc_start, offset)
            )
        return offset

    def _empty_item_offset(self, tree: Any, node: int) -> int:
        """Where an empty collection that is the first item of a keyed sequence starts
        (``ingress: [{}]``, ``ingress:\n- {}``: NetworkPolicies' allow-all rules); other
        positionless nodes raise ``_NoPosition`` (the exact loader then answers)."""
        parent = _parent(tree, node)
        if (
            _has_val(tree, node)  # an empty plain scalar ("-")
            or _first_child(tree, parent) != node
            or not _has_key(tree, parent)
        ):
            raise _NoPosition
        data, end = self._source.data, self.doc_end
        at = self._source.offset(_key(tree, parent)) + len(_key(tree, parent))
        at = _skip(data, at, end, _BLANK_OR_QUOTE | _COLON)  # the key's quote, ":"
        if at < end and data[at] in b"[-":
            at = _skip(data, at + 1, end, _BLANK_OR_QUOTE)
        if at >= end or data[at] not in _OPENERS:
            raise _NoPosition
        return at

    def lines(self, paths: Sequence[Path]) -> list[int | None]:
        if self._exact is not None:
            return self._exact.lines(paths)
        try:
            tree = self._source.tree()
        except Exception:  # the text parsed once already; never fail a report over a line
            return [self.first_line] * len(paths)
        root = self._root_node
        if root is None:
            root = self._root_node = self._root(tree)
        # Steps and lines are cached for one call: the paths of one object's findings share
        # most of their nodes (the container, its securityContext). Kept on the locator for
        # its lifetime, these caches held ~30 MB of tuples on the 20k-object corpus.
        children: dict[tuple[int, PathPart], int] = {}
        node_lines: dict[int, int] = {}
        out: list[int | None] = []
        try:
            for path in paths:
                node = root
                for part in path:
                    step = (node, part)
                    child = children.get(step)
                    if child is None:
                        if isinstance(part, int):
                            if not _is_seq(tree, node):
                                child = _NONE
                            elif part < _SHORT_SEQUENCE:  # a short walk of siblings in C
                                child = _child(tree, node, part)
                            else:
                                child = self._source.item(node, part)
                        else:
                            key = part.encode()
                            child = _find_child(tree, node, key) if _is_map(tree, node) else _NONE
                        children[step] = child
                    if child == _NONE:
                        break
                    node = child
                line = node_lines.get(node)
                if line is None:
                    line = node_lines[node] = self._node_line(tree, node)
                out.append(line)
        except _NoPosition:
            # Rare shapes without a position in rapidyaml's tree: ask libyaml instead.
            text = self._source.data[self._doc_start : self.doc_end].decode("utf-8")
            (doc,) = yaml_exact.load(text, first_line=self.first_line)
            self._exact = ExactLines(doc.lines, doc.start_line)
            return self._exact.lines(paths)
        return out
