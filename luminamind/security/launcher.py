"""The client side of the sandbox launcher (``_launcher_main.py``): one per process, started lazily.

Why a launcher: a sandboxed command needs code to run between fork and exec, so Python cannot
start it with vfork/posix_spawn; it forks the whole server instead, and the fork and the exit of
that copy grow with the server's memory (page tables, copy-on-write faults), to tens of
milliseconds under load. The launcher is a separate, small Python process started once (with
vfork, no ``preexec_fn``); each command is a request to it over a socket, with the command's
pipes and the Landlock ruleset passed as descriptors (SCM_RIGHTS). The child it forks runs the
very same steps (``_sandbox_child.enter``) as the in-process fork does: the confinement is the
same, only the process that forks is smaller. Where the launcher cannot start, the shell falls
back to forking itself.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Launch", "Launcher", "get_launcher", "running_launcher"]

_MAIN = Path(__file__).with_name("_launcher_main.py")
_REPLY_BYTES = 4096


@dataclass(slots=True)
class Launch:
    """One command handed to the launcher: its pid once started, its wait status once over."""

    ident: int
    started: concurrent.futures.Future[int] = field(default_factory=concurrent.futures.Future)
    exited: concurrent.futures.Future[int] = field(default_factory=concurrent.futures.Future)


class Launcher:
    """A running launcher process and the thread that reads its replies."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-X", "utf8", str(_MAIN), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # Its own session: a Ctrl-C meant for LuminaMind's terminal does not reach it.
                start_new_session=True,
                # None of the server's environment (API keys): it gets each command's own.
                env={},
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Launch] = {}
        self._closed = False
        self._reader = threading.Thread(
            target=self._read, name="luminamind-sandbox-launcher", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        """The launcher process's pid."""
        return self._process.pid

    @property
    def usable(self) -> bool:
        """Alive, and started by this process (a fork of the server must start its own)."""
        return not self._closed and self._owner == os.getpid()

    def spawn(
        self,
        *,
        executable: str,
        argv: list[str],
        cwd: str,
        env: dict[str, str],
        flags: int,
        abi: int,
        fds: tuple[int, int, int, int],
    ) -> Launch:
        """Ask for a command; ``fds`` are its stdin, stdout, stderr and the Landlock ruleset.

        The descriptors are copied into the message: the caller closes its own afterwards.

        Raises:
            OSError: the launcher is gone, or the request is too large for one message.
        """
        with self._lock:
            if self._closed:
                raise OSError("the sandbox launcher has exited")
            launch = Launch(next(self._ids))
            request = {
                "id": launch.ident,
                "executable": executable,
                "argv": argv,
                "cwd": cwd,
                "env": env,
                "flags": flags,
                "abi": abi,
            }
            self._pending[launch.ident] = launch
            try:
                socket.send_fds(self._sock, [json.dumps(request).encode()], list(fds))
            except OSError:
                del self._pending[launch.ident]
                raise
        return launch

    def _read(self) -> None:
        while True:
            try:
                message = self._sock.recv(_REPLY_BYTES)
            except OSError:
                message = b""
            if not message:
                self._fail_all()
                return
            reply = json.loads(message)
            with self._lock:
                launch = self._pending.get(reply["id"])
                if launch is None:
                    continue
                if "pid" in reply:
                    launch.started.set_result(int(reply["pid"]))
                    continue
                del self._pending[reply["id"]]
            if "status" in reply:
                launch.exited.set_result(int(reply["status"]))
            else:
                error = OSError(int(reply.get("errno", 0)), str(reply.get("strerror", "")))
                launch.started.set_exception(error)
                launch.exited.set_exception(error)

    def _fail_all(self) -> None:
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, {}
        gone = OSError("the sandbox launcher exited")
        for launch in pending.values():
            for future in (launch.started, launch.exited):
                if not future.done():
                    future.set_exception(gone)

    def close(self) -> None:
        """Stop the launcher (it kills what still runs) and reap it."""
        with self._lock:
            self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


_current: Launcher | None = None
_current_lock = threading.Lock()


def get_launcher() -> Launcher:
    """This process's launcher, started on first use (again if it died or this is a fork).

    Raises:
        OSError: it cannot be started.
    """
    global _current
    with _current_lock:
        if _current is None or not _current.usable:
            if _current is not None and _current._owner == os.getpid():
                _current.close()
            _current = Launcher()
        return _current


def running_launcher() -> Launcher | None:
    """This process's launcher if one was started and still runs (without starting one)."""
    current = _current
    return current if current is not None and current.usable else None


@atexit.register
def _close_at_exit() -> None:
    if _current is not None and _current._owner == os.getpid():
        _current.close()
