"""What a sandboxed command's process does between fork and exec (standard library only).

Two callers: ``PreparedSandbox.preexec`` (the fork of ``subprocess``) and the launcher
(``luminamind/security/_launcher_main.py``, a small process that loads this file by its path,
without the package, to stay small: see ``launcher.py``). Nothing here may import LuminaMind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import signal
import time
from typing import Protocol

__all__ = [
    "CLONE_NEWNET",
    "CLONE_NEWPID",
    "CLONE_NEWUSER",
    "SANDBOX_FAILED_STATUS",
    "enter",
    "enter_or_exit",
    "is_transient_unshare_error",
    "unshare",
    "warm",
]

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
_PR_SET_PDEATHSIG = 1
# Exit status of the waiter when the sandbox could not be entered (as env(1) uses 125-127).
SANDBOX_FAILED_STATUS = 125


class RulesetLike(Protocol):
    """What the child needs of a Landlock ruleset (``_landlock.Ruleset``)."""

    def allow_fd(self, pfd: int, rights: int) -> None: ...
    def restrict(self) -> int: ...
    def close(self) -> None: ...


@functools.cache
def _libc() -> ctypes.CDLL:
    """libc, loaded once: a parent that calls ``warm()`` spares each child the dlopen."""
    return ctypes.CDLL(None, use_errno=True)


def warm() -> None:
    """Load what the child needs before forking (the launcher calls it once)."""
    _libc()


def enter(flags: int, ruleset: RulesetLike, read_exec: int) -> None:  # pragma: no cover - child
    """Enter the sandbox: namespaces, the PID-namespace fork, Landlock. Returns in the command.

    ``read_exec`` is the Landlock right set for the process's own ``/proc/<pid>``.
    """
    if flags:
        enter_or_exit("unshare the namespaces", _unshare_patiently(flags))
    if flags & CLONE_NEWPID:
        _become_waiter_or_init()
    enter_or_exit("open /proc/self", _allow_own_proc(ruleset, read_exec))
    enter_or_exit("enable Landlock", ruleset.restrict())
    ruleset.close()


def unshare(flags: int) -> int:
    """unshare(2) the namespaces; map our own uid/gid when a user namespace is needed."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(flags) != 0:
        return ctypes.get_errno() or errno.EPERM
    if flags & CLONE_NEWUSER:
        try:
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{uid} {uid} 1"),
                ("gid_map", f"{gid} {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
        except OSError as exc:
            return exc.errno or errno.EPERM
    return 0


# unshare(2) errors that pass: the kernel frees namespaces asynchronously (a network namespace
# in a work queue, after an RCU grace period), so a busy machine that starts many sandboxed
# commands can meet its namespace limit or memory for a moment. (A CI runner saw commands fail to
# enter the sandbox, exit 125 with no reason given then, between two that worked.)
_TRANSIENT_UNSHARE_ERRORS = frozenset({errno.ENOSPC, errno.ENOMEM, errno.EAGAIN, errno.EUSERS})
# EINVAL too, for the namespace flags the start-up probe saw the kernel accept: a new network
# namespace runs every network subsystem's set-up, and under churn one can fail with an errno of
# its own (CI saw one EINVAL in a full suite run, thousands of sandboxed commands in). Flags that
# are not namespace flags are EINVAL for good and fail at once.
_NAMESPACE_FLAGS = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
_UNSHARE_ATTEMPTS = 10  # pauses of 2 ms doubling: about 2 s in all before giving up


def is_transient_unshare_error(error: int, flags: int) -> bool:
    """Whether unshare(2)'s ``error`` for ``flags`` may pass if tried again."""
    if error == errno.EINVAL:
        return flags & ~_NAMESPACE_FLAGS == 0
    return error in _TRANSIENT_UNSHARE_ERRORS


def _unshare_patiently(flags: int) -> int:  # pragma: no cover - runs between fork and exec
    """unshare(2), tried again with a growing pause (2 ms to ~1 s) while the error passes."""
    for attempt in range(_UNSHARE_ATTEMPTS):
        error = unshare(flags)
        if not is_transient_unshare_error(error, flags):
            return error
        time.sleep(0.002 * 2**attempt)
    return error


def enter_or_exit(step: str, error: int) -> None:  # pragma: no cover - between fork and exec
    """Go on when ``error`` is 0; else say why on the command's stderr and exit 125.

    The command's stderr is already in place (subprocess sets up the descriptors before
    preexec_fn), so the message reaches the tool's result, and the log, instead of a bare 125.
    """
    if error == 0:
        return
    message = f"luminamind sandbox: could not {step}: {os.strerror(error)} (errno {error})\n"
    with contextlib.suppress(OSError):
        os.write(2, message.encode())
    os._exit(SANDBOX_FAILED_STATUS)


def _allow_own_proc(ruleset: RulesetLike, read_exec: int) -> int:
    """Let the command read its own /proc/<pid> (/proc/self), nothing of other processes."""
    try:
        pfd = os.open("/proc/self", os.O_PATH | os.O_DIRECTORY)
    except OSError as exc:
        return exc.errno or errno.EPERM
    try:
        ruleset.allow_fd(pfd, read_exec)
    except OSError as exc:
        return exc.errno or errno.EPERM
    finally:
        os.close(pfd)
    return 0


def _become_waiter_or_init() -> None:  # pragma: no cover - runs between fork and exec
    """Fork into the new PID namespace; the parent waits and mirrors the child's end.

    Returns in the child (PID 1 of the namespace), which goes on to exec the command. The parent
    never returns: it closes every descriptor (so the spawning process sees the exec succeed and
    pipes see EOF when the command closes them) and exits as the command did.
    """
    pid = os.fork()
    if pid == 0:
        # Dies with the waiter. (getppid() is 0 here: the waiter is outside the namespace. A
        # waiter killed before this line was killed with its process group, this process too.)
        libc = _libc()
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return
    # The server's own handlers (uvicorn's SIGTERM) must not keep the waiter alive.
    for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(handled, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, _max_fd())
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(SANDBOX_FAILED_STATUS)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65_536
