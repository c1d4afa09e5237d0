"""The sandbox's private directories: removed at exit, swept after a kill, never someone else's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from luminamind.security.sandbox_tmp import (
    PARENT_PREFIX,
    private_dir,
    remove_private_dir,
    sweep_dead_parents,
)

CHILD = """
import os, signal, sys
from luminamind.security.sandbox_tmp import private_dir
print(private_dir(), flush=True)
how = sys.stdin.readline().strip()
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _child(tmp_path: Path) -> subprocess.Popen[str]:
    env = os.environ | {"TMPDIR": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _made(child: subprocess.Popen[str]) -> Path:
    assert child.stdout is not None
    return Path(child.stdout.readline().strip())


def _tell(child: subprocess.Popen[str], how: str) -> None:
    assert child.stdin is not None
    child.stdin.write(how + "\n")
    child.stdin.flush()


def test_a_killed_process_leaves_its_parent_and_the_next_sweep_removes_it(
    tmp_path: Path,
) -> None:
    with _child(tmp_path) as child:
        made, pid = _made(child), child.pid
        _tell(child, "kill")
        assert child.wait(timeout=30) == -signal.SIGKILL
    assert made.is_dir()
    assert made.parent.parent == tmp_path
    assert made.parent.name.startswith(f"{PARENT_PREFIX}{pid}-")
    assert sweep_dead_parents(tmp_path) == [made.parent]
    assert not made.parent.exists()


def test_a_process_that_exits_removes_its_parent(tmp_path: Path) -> None:
    with _child(tmp_path) as child:
        made = _made(child)
        # Alive: nobody sweeps it.
        assert sweep_dead_parents(tmp_path) == []
        assert made.is_dir()
        _tell(child, "exit")
        assert child.wait(timeout=30) == 0
    assert not made.parent.exists()


def test_the_sweep_never_follows_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    (tmp_path / f"{PARENT_PREFIX}999999999-1-abc").symlink_to(victim)
    assert sweep_dead_parents(tmp_path) == []
    assert (victim / "keep.txt").read_text() == "keep"


def test_what_a_command_locked_is_removed_too() -> None:
    path = private_dir()
    locked = path / "locked" / "deeper"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    os.chmod(locked, 0)
    os.chmod(path / "locked", 0)
    remove_private_dir(path)
    assert not path.exists()


def test_a_day_old_directory_from_before_the_parents_is_swept(tmp_path: Path) -> None:
    old, recent = tmp_path / f"{PARENT_PREFIX}ab12cd_9", tmp_path / f"{PARENT_PREFIX}zz12cd_9"
    for directory in (old, recent):
        (directory / "sub").mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    assert sweep_dead_parents(tmp_path) == [old]
    assert recent.is_dir(), "a call may still be using it"
