"""The shell sandbox holds where the policy lets a command through: real processes, real kernel.

Each attack is a Python script in the workspace, which the policy allows (``python3 x.py``) and
cannot look into; only the sandbox stands between it and the rest of the machine.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from luminamind.config import Settings
from luminamind.errors import CommandBlockedError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.security._sandbox_child import (
    CLONE_NEWNET,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    is_transient_unshare_error,
)
from luminamind.security.launcher import get_launcher
from luminamind.security.sandbox import SANDBOX_FAILED_STATUS, SandboxSpec, sandbox_status
from luminamind.tools import _shell_run, shell
from luminamind.tools.registry import ToolRegistry
from luminamind.tools.shell import ShellResult, sandbox_note

pytestmark = pytest.mark.skipif(
    not sandbox_status().available, reason="this machine has no Landlock"
)

ATTEMPT = """
import sys
try:
    {action}
except OSError as exc:
    print("DENIED", type(exc).__name__, exc.errno)
else:
    print("ALLOWED")
"""


def _runtime(settings: Settings, **shell_changes: object) -> ToolRuntime:
    changed = settings.model_copy(update={"shell": settings.shell.model_copy(update=shell_changes)})
    return build_tool_runtime(
        changed, surface="cli", registry=ToolRegistry(shell.TOOLS), use_cache=False
    )


async def _attempt(rt: ToolRuntime, workspace: Path, action: str) -> ShellResult:
    (workspace / "attempt.py").write_text(ATTEMPT.format(action=action))
    result = await rt.executor.acall(
        "shell", {"command": "python3 attempt.py"}, context=rt.context, approved=True
    )
    assert isinstance(result, ShellResult)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the workspace (another project, a home directory)."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.txt").write_text("s3cret")
    return directory


@pytest.fixture(params=["launcher", "fork"])
def rt(
    request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> ToolRuntime:
    """Both ways into the sandbox: the launcher process, and a fork of this one (its fallback)."""
    monkeypatch.setattr(_shell_run, "USE_LAUNCHER", request.param == "launcher")
    return _runtime(settings)


@pytest.mark.parametrize(
    "action",
    [
        "open({secret!r}).read()",
        "open({outside!r} + '/new.txt', 'w').write('x')",
        "__import__('os').listdir({outside!r})",
        "__import__('os').unlink({secret!r})",
        "open(__import__('os').path.expanduser('~root/.bashrc')).read()",
        "open('/etc/shadow').read()",
    ],
)
async def test_files_outside_the_workspace_are_out_of_reach(
    rt: ToolRuntime, workspace_dir: Path, outside: Path, action: str
) -> None:
    secret = str(outside / "secret.txt")
    result = await _attempt(rt, workspace_dir, action.format(secret=secret, outside=str(outside)))
    assert result.sandboxed
    assert "DENIED" in result.stdout, result.stdout
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "s3cret"


async def test_a_symlink_in_the_workspace_does_not_lead_out(
    rt: ToolRuntime, workspace_dir: Path, outside: Path
) -> None:
    """grep -R follows a directory symlink; the kernel checks the path it lands on."""
    (workspace_dir / "link").symlink_to(outside, target_is_directory=True)
    result = await rt.executor.acall(
        "shell", {"command": "grep -R s3cret ."}, context=rt.context, approved=True
    )
    assert isinstance(result, ShellResult)
    assert "s3cret" not in result.stdout
    assert "Permission denied" in result.stderr


async def test_the_servers_environment_is_out_of_reach(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    result = await _attempt(rt, workspace_dir, f"open('/proc/{os.getpid()}/environ', 'rb').read()")
    assert "DENIED" in result.stdout
    launcher = await _attempt(
        rt, workspace_dir, f"open('/proc/{get_launcher().pid}/environ', 'rb').read()"
    )
    assert "DENIED" in launcher.stdout
    other = await _attempt(rt, workspace_dir, "__import__('os').listdir('/proc/1')")
    assert "DENIED" in other.stdout


async def test_own_proc_and_private_temp_dir_work(rt: ToolRuntime, workspace_dir: Path) -> None:
    action = (
        "import os, tempfile; open('/proc/self/status').read(); "
        "f = tempfile.NamedTemporaryFile(); f.write(b'x'); f.flush(); "
        "print(os.environ['HOME'], tempfile.gettempdir(), os.getpid())"
    )
    result = await _attempt(rt, workspace_dir, action)
    assert "ALLOWED" in result.stdout
    home, tmp, pid = result.stdout.split()[:3]
    assert home == tmp
    assert "luminamind-sandbox-" in home
    assert pid == "1"  # PID 1 of its own namespace
    assert not Path(home).exists()  # removed after the call


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(timeout=6)


async def test_network_is_denied_by_default(
    rt: ToolRuntime, workspace_dir: Path, listener: int
) -> None:
    action = f"__import__('socket').create_connection(('127.0.0.1', {listener}), timeout=3)"
    result = await _attempt(rt, workspace_dir, action)
    assert "DENIED" in result.stdout


async def test_network_when_configured(
    settings: Settings, workspace_dir: Path, listener: int
) -> None:
    rt = _runtime(settings, sandbox_network=True)
    action = f"__import__('socket').create_connection(('127.0.0.1', {listener}), timeout=3)"
    result = await _attempt(rt, workspace_dir, action)
    assert "ALLOWED" in result.stdout


async def test_no_capability_reaches_the_host(rt: ToolRuntime, workspace_dir: Path) -> None:
    """Even run by root, the command's capabilities hold only in its own user namespace."""
    action = "import time; time.clock_settime(time.CLOCK_REALTIME, time.time())"
    result = await _attempt(rt, workspace_dir, action)
    assert "DENIED" in result.stdout


async def test_the_server_cannot_be_signalled(rt: ToolRuntime, workspace_dir: Path) -> None:
    result = await _attempt(rt, workspace_dir, f"__import__('os').kill({os.getpid()}, 0)")
    assert "DENIED" in result.stdout
    launcher = await _attempt(rt, workspace_dir, f"__import__('os').kill({get_launcher().pid}, 0)")
    assert "DENIED" in launcher.stdout


async def test_sandbox_off_runs_unsandboxed_and_says_so(
    settings: Settings, workspace_dir: Path, outside: Path
) -> None:
    rt = _runtime(settings, sandbox=False)
    result = await _attempt(rt, workspace_dir, f"open({str(outside / 'secret.txt')!r}).read()")
    assert not result.sandboxed
    assert "ALLOWED" in result.stdout
    note = sandbox_note(rt.context.settings.shell)
    assert note is not None
    assert note.startswith("not sandboxed")


async def test_require_sandbox_refuses_when_there_is_none(
    settings: Settings, workspace_dir: Path
) -> None:
    rt = _runtime(settings, sandbox=False, require_sandbox=True)
    with pytest.raises(CommandBlockedError, match="require_sandbox"):
        await rt.executor.acall("shell", {"command": "true"}, context=rt.context, approved=True)


def test_no_note_when_sandboxed(settings: Settings) -> None:
    assert sandbox_note(settings.shell) is None


@pytest.mark.parametrize(
    ("error", "flags", "transient"),
    [
        (errno.ENOSPC, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET, True),
        (errno.ENOMEM, CLONE_NEWPID, True),
        # A network subsystem's set-up failing under churn: namespace flags only.
        (errno.EINVAL, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET, True),
        (errno.EINVAL, CLONE_NEWNET | 0x1, False),  # not a namespace flag: EINVAL for good
        (errno.EPERM, CLONE_NEWUSER, False),
        (0, CLONE_NEWUSER, False),
    ],
)
def test_which_unshare_errors_are_tried_again(error: int, flags: int, transient: bool) -> None:
    assert is_transient_unshare_error(error, flags) is transient


def test_a_sandbox_that_cannot_be_entered_says_why(tmp_path: Path) -> None:
    """Exit 125 comes with the step and the kernel's reason on stderr, not bare."""
    prepared = SandboxSpec(read_write=(tmp_path,)).prepare()
    # 0x1 is no namespace flag: unshare(2) refuses it with EINVAL on every kernel.
    prepared.unshare_flags = 0x1
    ruleset = prepared.ruleset()
    try:
        done = subprocess.run(
            ["true"], preexec_fn=prepared.preexec(ruleset), capture_output=True, check=False
        )
    finally:
        ruleset.close()
        prepared.close()
    assert done.returncode == SANDBOX_FAILED_STATUS
    assert b"luminamind sandbox: could not unshare the namespaces: Invalid argument" in done.stderr
