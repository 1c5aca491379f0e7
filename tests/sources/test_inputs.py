"""Finding and reading input files: what a walk cannot read is said, never hung on or crashed."""

from __future__ import annotations

import io
import os
import socket
import threading
from pathlib import Path

import pytest

from kubeward.errors import InputError
from kubeward.sources.inputs import discover, read_file, read_stream

POD = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"


def messages(errors: list[InputError]) -> dict[str, str]:
    return {Path(str(error.file)).name: error.detail for error in errors}


def test_unreadable_entries_of_a_walk_are_errors(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_bytes(POD)
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "broken.yaml").symlink_to("missing.yaml")
    (tmp_path / "loop.yml").symlink_to("loop.yml")
    (tmp_path / "notes.txt").symlink_to("missing.txt")  # not a manifest's name: not ours
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock.json"))
        found, errors = discover([str(tmp_path)])
    assert [Path(item.path).name for item in found] == ["good.yaml"]
    assert messages(errors) == {
        "broken.yaml": "is a broken symbolic link (to missing.yaml, which does not exist)",
        "loop.yml": "is a symbolic link loop",
        "pipe.yaml": "is a named pipe, not a regular file or directory: not read",
        "sock.json": "is a socket, not a regular file or directory: not read",
    }


def test_a_directory_whose_entries_cannot_be_examined_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A directory with read but no search permission lists its names but every stat fails
    # with EACCES, which pathlib's is_dir/is_file raise (tests run as root: simulated).
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.yaml").write_bytes(POD)
    (tmp_path / "b.yaml").write_bytes(POD)
    real_stat = Path.stat

    def stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.parent == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat)
    found, errors = discover([str(tmp_path), str(locked / "a.yaml")])
    assert [Path(item.path).name for item in found] == ["b.yaml"]
    assert [(Path(str(e.file)).name, e.detail) for e in errors] == [
        ("locked", "cannot list directory: Permission denied"),
        ("a.yaml", "cannot read: Permission denied"),
    ]


def test_reading_a_file_that_became_a_named_pipe_does_not_wait(tmp_path: Path) -> None:
    pipe = tmp_path / "pod.yaml"
    os.mkfifo(pipe)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(read_file(str(pipe)))
        except InputError as exc:
            outcome.append(exc.detail)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock the reader before failing
        with open(pipe, "wb"):
            pass
        reader.join(5)
        pytest.fail("read_file waited for a writer on a named pipe")
    assert outcome == ["is not a regular file: not read"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a: 1\rb: 2\r\nc: 3\n", b"a: 1\nb: 2\r\nc: 3\n"),  # CRLF is kept, a lone CR is LF
        (b"\xef\xbb\xbfa: 1\n---\n\xef\xbb\xbfb: 2\n", b"a: 1\n---\nb: 2\n"),
        (b"a: 1\n--- # next\r\n\xef\xbb\xbfb: 2\n", b"a: 1\n--- # next\r\nb: 2\n"),
        (b"a: \xef\xbb\xbf1\n# \xef\xbb\xbf\n", b"a: \xef\xbb\xbf1\n# \xef\xbb\xbf\n"),  # content
    ],
    ids=["lone-cr", "bom-after-separator", "bom-after-commented-separator", "bom-in-content"],
)
def test_line_breaks_and_byte_order_marks(data: bytes, expected: bytes) -> None:
    assert read_stream(io.BytesIO(data)) == expected


def test_a_walk_resolves_paths_by_directory_not_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one object per file is common: resolving every file (a stat per path component) and the
    # working directory again for each cost more than parsing them
    deploy = tmp_path / "repo" / "deploy"
    deploy.mkdir(parents=True)
    for index in range(50):
        (deploy / f"o{index:02}.yaml").write_text("kind: ConfigMap\n")
    (deploy / "linked.yaml").symlink_to(deploy / "o00.yaml")  # the same file again
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.yaml").write_text("kind: ConfigMap\n")
    (deploy / "more").symlink_to(elsewhere)
    monkeypatch.chdir(tmp_path / "repo")
    calls: list[str] = []
    real = os.path.realpath

    def counted(path: str | os.PathLike[str]) -> str:
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(os.path, "realpath", counted)
    found, errors = discover(["deploy", str(deploy / "o01.yaml"), str(elsewhere)])
    assert errors == []
    assert [item.path for item in found] == [
        "deploy/o00.yaml",  # linked.yaml, shown as the file it resolves to
        "deploy/more/x.yaml",  # resolves outside the working directory: shown as reached
        *(f"deploy/o{index:02}.yaml" for index in range(1, 50)),
    ]
    # the working directory, the named paths and the two links; not one per file
    assert len(calls) <= 6, calls


def test_a_small_file_that_grew_since_its_size_was_taken_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small files are read at the size fstat gives (a read up to the limit is a 64 MiB
    # allocation each): a file that grew meanwhile is still read to its end, within the limit
    manifest = tmp_path / "grown.yaml"
    manifest.write_bytes(b"kind: ConfigMap\n" * 100)
    real_fstat = os.fstat

    def older(fd: int) -> os.stat_result:
        found = real_fstat(fd)
        return os.stat_result((*found[:6], 10, *found[7:]))  # st_size as it was before

    monkeypatch.setattr(os, "fstat", older)
    assert read_file(str(manifest)) == manifest.read_bytes()
    with pytest.raises(InputError, match="over the"):
        read_file(str(manifest), max_size=1000)
