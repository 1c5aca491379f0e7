"""Terminal output never passes a control character from the scanned content through."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from kubeward.terminal import printable
from tests.cli_helpers import kubeward


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcode ✓", "plain text, ünïcode ✓"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("nul\x00 bel\x07 del\x7f csi\x9b", "nul\\x00 bel\\x07 del\\x7f csi\\x9b"),
        ("a\tb\rc\nd", "a\\tb\\rc\\nd"),
        ("abc\u202edef\u2066", "abc\\u202edef\\u2066"),
        ("ad\u200bmin\u200d\ufeff\xad", "ad\\u200bmin\\u200d\\ufeff\\xad"),  # invisible
        ("row\u2028row\u2029", "row\\u2028row\\u2029"),  # line separators: a new table row
        ("bad\udcffname", "bad\\udcffname"),  # a non-UTF-8 byte of a file name: unwritable
        ("tag\U000e0041", "tag\\U000e0041"),  # tag characters hide text ("ASCII smuggling")
        ("emoji \U0001f600 ok", "emoji \U0001f600 ok"),
    ],
)
def test_printable_escapes_control_characters(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_printable_escapes_every_control_format_and_separator_character() -> None:
    """Every character of the categories printable() stands for (controls, format characters,
    surrogates, line and paragraph separators), per this Python's Unicode database: a newer
    Unicode that adds a format character fails here until the list in terminal.py has it."""
    categories = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    missed = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in categories and printable(chr(code)) == chr(code)
    ]
    assert missed == []


def test_printable_keeps_line_breaks_only_when_asked() -> None:
    assert printable("one\ntwo\r\x1b", multiline=True) == "one\ntwo\\r\\x1b"


def test_errors_on_stderr_show_escapes(tmp_path: Path) -> None:
    run = kubeward("scan", "--config", "no\x1b[2Jsuch.yaml", ".", cwd=tmp_path)
    assert run.code == 2
    assert "\x1b" not in run.stderr
    assert "kubeward: error: --config no\\x1b[2Jsuch.yaml" in run.stderr


def test_table_on_stdout_shows_escapes(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\n"
        'metadata: {name: "a\\u001b]52;c;eA==\\u0007b", namespace: x}\n'
        "spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n"
    )
    run = kubeward("scan", "pod.yaml", "--select", "W001", "-f", "table", cwd=tmp_path)
    assert run.code == 1, run.stderr
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "Pod/x/a\\x1b]52;c;eA==\\x07b" in run.stdout


def _stderr_on_a_terminal(*args: str | Path, cwd: Path) -> str:
    """``kubeward ARGS`` with its stderr on a pseudo-terminal: click strips escape sequences
    from what it writes only when that is no terminal, so a pipe would hide them."""
    master, slave = os.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "kubeward", *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            cwd=cwd,
            timeout=300,
            check=False,
        )
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_config_found_above_is_named_with_escapes(tmp_path: Path) -> None:
    """The notice naming a kubeward.yaml found above the scanned paths quotes directory names."""
    top = tmp_path / "x\x1b]52;c;eA==\x07y\x1b[2J"
    (top / "chart").mkdir(parents=True)
    (top / "kubeward.yaml").write_text("select: [N001]\n")
    (top / "chart" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (tmp_path / "elsewhere").mkdir()
    stderr = _stderr_on_a_terminal("scan", top / "chart", "-f", "json", cwd=tmp_path / "elsewhere")
    assert "kubeward: using" in stderr
    assert "\x1b" not in stderr and "\x07" not in stderr
    assert "x\\x1b]52;c;eA==\\x07y\\x1b[2J" in stderr
