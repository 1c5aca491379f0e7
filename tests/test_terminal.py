"""Terminal output never passes a control character from the scanned content through."""

from __future__ import annotations

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
    ],
)
def test_printable_escapes_control_characters(text: str, shown: str) -> None:
    assert printable(text) == shown


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
