"""The stale-run rule: a run's owner counts while its process lives and its heartbeat is fresh."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from luminamind.state.run_lease import (
    RUN_LEASE_SECONDS,
    RunOwner,
    owner_token,
    pid_alive,
    stale_reason,
)


def _dead_pid() -> int:
    """The pid of a real process that has exited and been waited for."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_this_process_holds_while_its_heartbeat_is_fresh() -> None:
    now = datetime.now(UTC)
    parsed = RunOwner.parse(owner_token(), now.isoformat())
    assert parsed == RunOwner(socket.gethostname(), os.getpid(), now)
    assert stale_reason(parsed) is None
    assert "heartbeat 0 s ago" in parsed.describe(now)


def test_a_gone_process_on_this_host_is_stale_at_once() -> None:
    pid = _dead_pid()
    assert not pid_alive(pid)
    owner = RunOwner(socket.gethostname(), pid, datetime.now(UTC))
    reason = stale_reason(owner)
    assert reason is not None
    assert f"pid {pid}" in reason


def test_a_zombie_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        assert not pid_alive(child.pid)
    finally:
        child.wait()


def test_another_host_counts_until_its_lease_runs_out() -> None:
    beat = datetime.now(UTC)
    owner = RunOwner("some-other-host", 1, beat)
    assert stale_reason(owner, now=beat + timedelta(seconds=RUN_LEASE_SECONDS - 1)) is None
    late = stale_reason(owner, now=beat + timedelta(seconds=RUN_LEASE_SECONDS + 1))
    assert late is not None
    assert "no heartbeat from some-other-host" in late


def test_unreadable_owner_is_none() -> None:
    assert RunOwner.parse("host:not-a-pid", datetime.now(UTC).isoformat()) is None
    assert RunOwner.parse("host:1", "yesterday") is None
    assert RunOwner.parse("a:b:c:12", "2026-12-04T10:00:00+00:00") == RunOwner(
        "a:b:c", 12, datetime(2026, 12, 4, 10, tzinfo=UTC)
    )
