"""Atomic writes: content replaced in one rename, mode kept, no temp file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from luminamind.tools.files.atomic import default_file_mode, stage_write, write_atomic


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
