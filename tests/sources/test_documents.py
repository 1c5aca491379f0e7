from __future__ import annotations

from kubeward.sources.documents import split_documents


def spans(text: str) -> list[tuple[str, int]]:
    data = text.encode()
    found = split_documents(data)
    assert found is not None
    return [(data[s.start : s.end].decode(), s.line) for s in found]


def test_single_document() -> None:
    assert spans("a: 1\n") == [("a: 1\n", 1)]


def test_leading_comments_are_not_a_document() -> None:
    assert spans("# header\n\n---\na: 1\n") == [("---\na: 1\n", 3)]


def test_separators_and_lines() -> None:
    assert spans("a: 1\n---\nb: 2\n--- # c\nc: 3\n") == [
        ("a: 1\n", 1),
        ("---\nb: 2\n", 2),
        ("--- # c\nc: 3\n", 4),
    ]


def test_dashes_inside_content_are_not_separators() -> None:
    assert spans("a: |\n  ---x\nb: ---\n") == [("a: |\n  ---x\nb: ---\n", 1)]


def test_document_end_markers_and_directives_are_left_to_the_exact_loader() -> None:
    assert split_documents(b"a: 1\n...\n---\nb: 2\n") is None
    assert split_documents(b"%YAML 1.1\n---\na: 1\n") is None


def test_empty_input() -> None:
    assert spans("") == []
    assert spans("# nothing\n") == []
