"""open_beneath / exists_beneath: opening relative to a directory descriptor, never out of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from luminamind.errors import PathEscapeError
from luminamind.security import nofollow
from luminamind.security.nofollow import exists_beneath, open_beneath, open_dir_nofollow


@pytest.fixture(params=["openat2", "walk"])
def top(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    """The directory, open; in the 'walk' case as on a kernel without openat2 (the fallback)."""
    if request.param == "walk":
        monkeypatch.setattr(nofollow, "_openat2", lambda: None)
    (tmp_path / "top" / "sub").mkdir(parents=True)
    (tmp_path / "top" / "sub" / "f.txt").write_text("inside")
    (tmp_path / "outside.txt").write_text("outside")
    (tmp_path / "top" / "link").symlink_to(tmp_path)
    (tmp_path / "top" / "filelink").symlink_to(tmp_path / "outside.txt")
    fd = open_dir_nofollow(tmp_path / "top")
    yield fd
    os.close(fd)


def test_a_path_beneath_opens(top: int) -> None:
    fd = open_beneath(top, "sub/f.txt", os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"inside"
    finally:
        os.close(fd)
    assert exists_beneath(top, "sub/f.txt")
    assert exists_beneath(top, "./sub/")


@pytest.mark.parametrize("rel", ["link/outside.txt", "filelink", "link"])
def test_a_symlink_anywhere_on_the_path_is_refused(top: int, rel: str) -> None:
    with pytest.raises(PathEscapeError, match="symlink"):
        os.close(open_beneath(top, rel, os.O_RDONLY))
    assert not exists_beneath(top, rel)


@pytest.mark.parametrize("rel", ["../outside.txt", "sub/../../outside.txt", "/etc/passwd"])
def test_climbing_out_is_refused_before_any_open(top: int, rel: str) -> None:
    with pytest.raises(PathEscapeError, match="not a path beneath"):
        open_beneath(top, rel, os.O_RDONLY)
    assert not exists_beneath(top, rel)


def test_a_missing_path_is_the_usual_error(top: int) -> None:
    with pytest.raises(FileNotFoundError):
        open_beneath(top, "sub/missing.txt", os.O_RDONLY)
    assert not exists_beneath(top, "sub/missing.txt")
