"""The sandbox launcher: a small process that starts sandboxed commands for its parent.

Started once per LuminaMind process (``launcher.py``), as ``python -I -S`` of this file with no
LuminaMind import: it stays a few megabytes, so forking it costs a fraction of forking the
server (whose page tables grow with its memory) and its children exit as quickly. It loads the
two standard-library-only files it needs, ``_landlock.py`` and ``_sandbox_child.py``, by path.

Protocol, over the SOCK_SEQPACKET socket whose descriptor is argv[1] (one JSON object per
message):

* request ``{"id", "executable", "argv", "cwd", "env", "flags", "abi"}`` with four descriptors
  (the command's stdin, stdout, stderr and the Landlock ruleset the server built);
* reply ``{"id", "pid"}`` once the command has been exec'd (or the sandbox's waiter started),
  or ``{"id", "errno", "strerror"}`` when it could not start;
* later ``{"id", "status"}``: the wait status when it exits.

When the socket closes (the server exited or was killed), every command still running is
killed and the launcher exits. Each command's first process dies with the launcher too
(PR_SET_PDEATHSIG), so a killed launcher leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import selectors
import signal
import socket
import sys
from types import ModuleType
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_PR_SET_PDEATHSIG = 1
_MAX_MESSAGE = 1 << 20
_EXEC_FAILED = 127


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"luminamind_launcher_{name}", os.path.join(_HERE, f"{name}.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _child(
    request: dict[str, Any],
    fds: list[int],
    report: int,
    landlock: ModuleType,
    child: ModuleType,
    prctl: Any,
) -> None:  # pragma: no cover - runs in the forked child
    """Become the command: descriptors, session, directory, sandbox, exec. Never returns."""
    try:
        signal.set_wakeup_fd(-1)
        # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec.
        for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        stdin, stdout, stderr, ruleset_fd = fds
        for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
            os.dup2(fd, target)
        keep = sorted({ruleset_fd, report})
        start = 3
        for fd in keep:
            os.closerange(start, fd)
            start = fd + 1
        os.closerange(start, 1 << 16)
        os.setsid()
        os.chdir(request["cwd"])
        ruleset = landlock.Ruleset.adopt(ruleset_fd, int(request["abi"]))
        child.enter(int(request["flags"]), ruleset, landlock.FS_READ_EXEC)
        os.execve(request["executable"], request["argv"], request["env"])  # noqa: S606
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.write(report, str(exc.errno or 0).encode())
    finally:
        os._exit(_EXEC_FAILED)


class _Launcher:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.landlock = _load("_landlock")
        self.child = _load("_sandbox_child")
        self.child.warm()
        self.landlock._libc()
        self.prctl = ctypes.CDLL(None).prctl
        self.running: dict[int, Any] = {}  # pid -> request id

    def send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps(message).encode())

    def spawn(self, request: dict[str, Any], fds: list[int]) -> None:
        ident = request.get("id")
        try:
            if len(fds) != 4:
                raise OSError(22, f"expected 4 descriptors, got {len(fds)}")
            report_r, report_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(report_r)
                _child(request, fds, report_w, self.landlock, self.child, self.prctl)
            os.close(report_w)
            with os.fdopen(report_r, "rb") as report:
                failed = report.read()  # EOF once exec'd (the descriptor closes on exec)
        except OSError as exc:
            self.send({"id": ident, "errno": exc.errno or 0, "strerror": exc.strerror or str(exc)})
            return
        finally:
            for fd in fds:
                os.close(fd)
        if failed:
            os.waitpid(pid, 0)
            err = int(failed or b"0")
            self.send({"id": ident, "errno": err, "strerror": os.strerror(err)})
            return
        self.running[pid] = ident
        self.send({"id": ident, "pid": pid})

    def reap(self) -> None:
        while self.running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            ident = self.running.pop(pid, None)
            if ident is not None:
                self.send({"id": ident, "status": status})

    def stop(self) -> None:
        for pid in list(self.running):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def serve(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is self.sock:
                    message, fds, _, _ = socket.recv_fds(self.sock, _MAX_MESSAGE, 8)
                    if not message:
                        self.stop()
                        return
                    self.spawn(json.loads(message), fds)
                else:
                    os.read(wake_r, 4096)
            self.reap()


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    sock.set_inheritable(False)
    _Launcher(sock).serve()


if __name__ == "__main__":
    main()
