"""Which process runs a thread, so that another process can tell: owner and heartbeat.

A run marks its thread ``running`` in the thread store with its owner (``host:pid``) and a
heartbeat it renews every `RUN_BEAT_SECONDS` (`luminamind.agent.service`). Another process —
the CLI asked to rewind a thread the MCP server is running — reads it with
``ThreadStore.run_owner`` and `stale_reason`: the run holds the thread unless its owner is gone.

The stale-run rule, so a crashed process never blocks a thread for good:

- on the same host, the owner's pid no longer exists (or is a zombie): gone at once;
- on any host, the heartbeat is older than `RUN_LEASE_SECONDS` (a process killed on another
  machine, or one whose pid was reused here): gone once the lease has run out.

The heartbeat is renewed only while the thread is still ``running`` for the same owner, so a
late renewal (a write still in flight when the run ended) never marks a finished run again.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "RUN_BEAT_SECONDS",
    "RUN_LEASE_SECONDS",
    "RunOwner",
    "owner_token",
    "pid_alive",
    "stale_reason",
]

RUN_BEAT_SECONDS = 10.0
"""How often a running process renews its heartbeat."""
RUN_LEASE_SECONDS = 60.0
"""A heartbeat older than this is a dead run (six missed renewals: a busy event loop is not)."""


def owner_token() -> str:
    """This process as a run owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process that marked a thread running, and when it last said it still is."""

    host: str
    pid: int
    beat: datetime

    @classmethod
    def parse(cls, token: str, beat: str) -> RunOwner | None:
        """The owner a store kept as ``host:pid`` and an ISO time; None if unreadable."""
        host, _, pid = token.rpartition(":")
        try:
            return cls(host=host, pid=int(pid), beat=datetime.fromisoformat(beat))
        except ValueError:
            return None

    @property
    def token(self) -> str:
        """``host:pid``, as stored."""
        return f"{self.host}:{self.pid}"

    def describe(self, now: datetime | None = None) -> str:
        """For messages: ``pid 123 on host (heartbeat 4 s ago)``."""
        age = ((now or datetime.now(UTC)) - self.beat).total_seconds()
        return f"pid {self.pid} on {self.host} (heartbeat {max(age, 0):.0f} s ago)"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:  # a killed child its parent has not waited for yet is dead, though kill(0) succeeds
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in {"Z", "X"}


def stale_reason(
    owner: RunOwner, *, now: datetime | None = None, lease_seconds: float = RUN_LEASE_SECONDS
) -> str | None:
    """Why ``owner``'s run is over although the store says running; None: it is running."""
    if owner.host == socket.gethostname() and not pid_alive(owner.pid):
        return f"its process (pid {owner.pid}) is gone"
    age = ((now or datetime.now(UTC)) - owner.beat).total_seconds()
    if age > lease_seconds:
        return f"no heartbeat from {owner.host} for {age:.0f} s (lease {lease_seconds:.0f} s)"
    return None
