"""The table's own layout of findings is rich's layout, character for character.

rich lays a table out cell by cell (~0.45 ms a finding: 80 s for a 173,000-finding report), so
kubeward lays out ordinary rows itself; these properties hold the two equal.
"""

from __future__ import annotations

import io
import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich._wrap import divide_line
from rich.console import Console

from kubeward.model import Severity
from kubeward.reporters import table

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
WORD = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=50)
BLANKS = st.sampled_from(["", " ", "  ", " " * 7])
TEXT = st.lists(st.tuples(BLANKS, WORD, BLANKS), max_size=12).map(
    lambda words: "".join(a + b + c for a, b, c in words)
)
ROW = st.builds(
    table._Row,
    st.one_of(st.just(""), st.integers(1, 99_999).map(str)),
    st.sampled_from(list(Severity)),
    TEXT,
    TEXT,
    TEXT,
)


def _stripped(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def _by_rich(rows: list[table._Row], width: int, color: bool) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, no_color=not color,
        color_system="standard" if color else None, highlight=False, soft_wrap=False,
    )  # fmt: skip
    console.print(table._rich_table(rows))
    return _stripped(buffer.getvalue())


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, min_size=1, max_size=5), st.sampled_from([40, 80, 120, 200]), st.booleans())
def test_rows_are_laid_out_as_rich_lays_them_out(
    rows: list[table._Row], width: int, color: bool
) -> None:
    ours = table._plain_table(rows, width, color=color)
    if ours is None:  # rich's turn: nothing to compare
        return
    theirs = _by_rich(rows, width, color)
    if color:  # the same characters in the same places; the escapes may be grouped otherwise
        ours, theirs = _stripped(_ANSI.sub("", ours)), _stripped(_ANSI.sub("", theirs))
    assert _stripped(ours) == theirs


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.integers(1, 80))
def test_messages_wrap_as_rich_wraps_them(text: str, width: int) -> None:
    breaks = [0, *divide_line(text, width, fold=True), len(text)]
    expected = [text[a:b] for a, b in itertools.pairwise(breaks)]
    assert table._wrapped(text, width) == (expected if len(text) > width else [text])


def test_ordinary_rows_are_laid_out_here_and_wide_characters_by_rich() -> None:
    row = table._Row("12", Severity.HIGH, "W001 privileged-container", "Pod/a/web", "runs " * 30)
    laid_out = table._plain_table([row], 120, color=False)
    assert laid_out is not None
    assert laid_out.splitlines()[0].startswith("12  HIGH  W001 privileged-container  Pod/a/web  ")
    wide = row._replace(object="Pod/a/网站")  # two cells a character: rich measures them
    assert table._plain_table([wide], 120, color=False) is None
