"""Atomic writes: content replaced in one rename, mode kept, no temp file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from luminamind.tools.files.atomic import (
    default_file_mode,
    stage_write,
    sync_directories,
    write_atomic,
)


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_text("old\n")
    target.chmod(0o750)
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o750
    assert os.listdir(tmp_path) == ["run.sh"]


def test_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    write_atomic(target, b"x")
    assert target.stat().st_mode & 0o777 == default_file_mode()
    write_atomic(tmp_path / "exec", b"x", mode=0o755)
    assert (tmp_path / "exec").stat().st_mode & 0o777 == 0o755


def test_staged_write_is_invisible_until_commit(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old\n")
    staged = stage_write(target, b"new\n")
    assert target.read_text() == "old\n"
    staged.discard()
    assert os.listdir(tmp_path) == ["f.txt"]
    staged = stage_write(target, b"new\n")
    staged.commit()
    staged.discard()  # after commit: nothing to remove, the new content stays
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_missing_directory_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no" / "f.txt", b"x")
    assert os.listdir(tmp_path) == []


def test_many_staged_writes_then_one_sync_per_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    targets = [tmp_path / "a" / "one.txt", tmp_path / "two.txt"]
    targets[1].write_text("old\n")
    targets[1].chmod(0o640)
    staged = [stage_write(t, f"new {i}\n".encode()) for i, t in enumerate(targets)]
    try:
        assert targets[1].read_text() == "old\n"  # synced, not yet in place
        for write in staged:
            write.commit(sync_dir=False)
    finally:
        for write in staged:
            write.discard()
    sync_directories([tmp_path, tmp_path / "a", tmp_path / "a", tmp_path / "gone"])
    assert [t.read_text() for t in targets] == ["new 0\n", "new 1\n"]
    assert targets[1].stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["a", "two.txt"]
    assert os.listdir(tmp_path / "a") == ["one.txt"]
