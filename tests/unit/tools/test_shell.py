"""The shell tool through the executor: real processes, real pipes, real signals."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from luminamind.config import Settings, load_settings
from luminamind.errors import (
    ApprovalRequiredError,
    CommandBlockedError,
    PathEscapeError,
    ToolArgumentsError,
    ToolExecutionError,
)
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import shell, system
from luminamind.tools.registry import ToolRegistry
from luminamind.tools.shell import ShellResult

PY = "python3"


def _with_shell(settings: Settings, **changes: object) -> Settings:
    """``settings`` with some ``[shell]`` values changed."""
    return settings.model_copy(update={"shell": settings.shell.model_copy(update=changes)})


def _runtime(settings: Settings) -> ToolRuntime:
    registry = ToolRegistry((*shell.TOOLS, *system.TOOLS))
    return build_tool_runtime(settings, surface="cli", registry=registry, use_cache=False)


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return _runtime(settings)


async def _run(rt: ToolRuntime, command: str, **args: object) -> ShellResult:
    result = await rt.executor.acall(
        "shell", {"command": command, **args}, context=rt.context, approved=True
    )
    assert isinstance(result, ShellResult)
    return result


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# A script that starts a sleeping grandchild, records a token in its command line, then waits
# (or exits). Inside the sandbox's PID namespace a pid means nothing outside, so the test finds
# the grandchild by the token instead.
SPAWNER = """
import os, subprocess, sys, signal, time, uuid
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
token = "sleeper-" + uuid.uuid4().hex
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", token],
                         stdout=None if "--hold-stdout" in sys.argv else subprocess.DEVNULL)
if "--double-fork" in sys.argv:  # leave the process group and the parent for good
    subprocess.Popen([sys.executable, "-c",
                      "import os, time; os.setsid(); os.fork() and os._exit(0); time.sleep(60)",
                      token], start_new_session=True)
with open("child.pid", "w") as f:
    f.write(token)
print("started", flush=True)
if "--exit" not in sys.argv:
    time.sleep(60)
"""


def _pids_with(token: str) -> list[int]:
    """Host pids of the processes whose command line holds ``token``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _token_gone(token: str, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in _pids_with(token)):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def spawner(workspace_dir: Path) -> Iterator[Path]:
    (workspace_dir / "spawn.py").write_text(SPAWNER)
    yield workspace_dir / "child.pid"
    pid_file = workspace_dir / "child.pid"
    if pid_file.exists():  # never leave a sleeper behind, even when an assertion failed
        for pid in _pids_with(pid_file.read_text()):
            if _alive(pid):
                os.kill(pid, 9)


async def test_runs_a_command_and_reports_output(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("a|b\nhello\nünïcode\n")
    result = await _run(rt, "grep 'a|b' f.txt")
    assert result.stdout == "a|b\n"
    assert result.exit_code == 0
    assert result.signal is None
    assert not result.timed_out
    assert result.argv == [["grep", "a|b", "f.txt"]]
    assert result.cwd == "."
    assert (await _run(rt, "cat f.txt")).stdout.endswith("ünïcode\n")


async def test_nonzero_exit_is_a_result(rt: ToolRuntime) -> None:
    result = await _run(rt, "cat missing.txt")
    assert result.exit_code == 1
    assert "missing.txt" in result.stderr
    assert result.stderr.startswith("cat:")  # argv[0] stays as written
    assert (await _run(rt, "false")).exit_code == 1


async def test_pipeline_connects_stages(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "f.txt").write_text("".join(f"line {i}\n" for i in range(100)))
    result = await _run(rt, "cat f.txt | grep 'line 1' | wc -l")
    assert result.stdout.strip() == "11"
    assert result.stage_exit_codes == [0, 0, 0]
    # An early reader: head exits, cat dies of SIGPIPE or finishes; the result is head's.
    early = await _run(rt, "cat f.txt | head -n 1")
    assert early.stdout == "line 0\n"
    assert early.exit_code == 0


async def test_stdin_parameter(rt: ToolRuntime) -> None:
    result = await _run(rt, "wc -c", stdin="hello world")
    assert result.stdout.strip() == "11"
    assert (await _run(rt, "cat", stdin="")).stdout == ""
    # Without stdin the command reads an empty input instead of waiting for a terminal.
    assert (await _run(rt, "cat", timeout_seconds=5)).timed_out is False


async def test_lone_surrogates_are_argument_errors(rt: ToolRuntime) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await _run(rt, "cat", stdin="bad \ud800 surrogate")
    assert info.value.fields == ("stdin",)
    with pytest.raises(ToolArgumentsError) as info:
        await _run(rt, "echo 'bad \ud800'")
    assert info.value.fields == ("command",)


async def test_cwd_is_confined(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "sub").mkdir()
    (workspace_dir / "sub" / "x.txt").write_text("x")
    result = await _run(rt, "ls", cwd="sub")
    assert result.stdout == "x.txt\n"
    assert result.cwd == "sub"
    assert (await _run(rt, "pwd", cwd="sub")).stdout.strip() == str(workspace_dir / "sub")
    for escape in ("..", "/tmp", "sub/../..", "/"):
        with pytest.raises(PathEscapeError):
            await _run(rt, "ls", cwd=escape)
    (workspace_dir / "out").symlink_to(workspace_dir.parent)
    with pytest.raises(PathEscapeError):
        await _run(rt, "ls", cwd="out")
    with pytest.raises(ToolExecutionError, match="not a directory"):
        await _run(rt, "ls", cwd="sub/x.txt")
    with pytest.raises(PathEscapeError, match="NUL"):
        await _run(rt, "ls", cwd="sub\x00")


async def test_needs_approval(rt: ToolRuntime, workspace_dir: Path) -> None:
    with pytest.raises(ApprovalRequiredError):
        await rt.executor.acall(
            "shell", {"command": "tee marker"}, context=rt.context, approved=False
        )
    assert not (workspace_dir / "marker").exists()
    spec = rt.registry.get("shell")
    assert spec.annotations.needs_approval
    assert spec.annotations.destructive
    assert not spec.annotations.read_only
    assert not spec.annotations.open_world


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "command"),
        ({"command": ""}, "command"),
        ({"command": 5}, "command"),
        ({"command": "ls", "shell": True}, "shell"),
        ({"command": "ls", "timeout_seconds": 0}, "timeout_seconds"),
        ({"command": "ls", "timeout_seconds": "soon"}, "timeout_seconds"),
        ({"command": "ls", "cwd": ""}, "cwd"),
        ({"command": "ls", "stdin": ["a"]}, "stdin"),
        ({"command": "ls", "timeout_seconds": 100_000}, "timeout_seconds"),
    ],
)
async def test_bad_arguments(rt: ToolRuntime, arguments: dict[str, object], field: str) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("shell", arguments, context=rt.context, approved=True)
    assert field in info.value.fields


# Each would create 'pwned' if a shell (or the escape hatch) ran it.
TRICKS = [
    "ls; tee pwned",
    "ls && tee pwned",
    "false || tee pwned",
    "echo $(tee pwned)",
    "echo `tee pwned`",
    'echo "$(tee pwned)"',
    "ls > pwned",
    "ls >> pwned",
    "ls 2> pwned",
    "ls &> pwned",
    "tee pwned &",
    "ls\ntee pwned",
    "ls ; tee pwned",
    "ls ｜ tee pwned",
    "ls；tee pwned",
    "ls\u200b; tee pwned",
    "ls\x00; tee pwned",
    "sh -c 'tee pwned'",
    "/bin/sh -c 'tee pwned'",
    "bash -c 'tee pwned < /dev/null'",
    "env tee pwned",
    "xargs tee pwned",
    "find . -maxdepth 0 -exec tee pwned ;",
    "find . -maxdepth 0 -fprint pwned",
    "sed -n '1e tee pwned' spawn.py",
    "sed 's/.*/tee pwned/e' spawn.py",
    "awk 'BEGIN{system(\"tee pwned\")}'",
    'awk \'BEGIN{print "x" | "tee pwned"}\'',
    "git -c core.pager='tee pwned' -p log",
    "git -c alias.x='!tee pwned' x",
    f'{PY} -c \'open("pwned", "w")\'',
    'node -e \'require("fs").writeFileSync("pwned", "")\'',
    "make --eval='x:;tee pwned' x",
    "rg --pre ./pwn x .",
]


@pytest.mark.parametrize("command", TRICKS)
async def test_tricks_run_nothing(
    rt: ToolRuntime, workspace_dir: Path, spawner: Path, command: str
) -> None:
    with pytest.raises(CommandBlockedError, match="Nothing was run"):
        await _run(rt, command)
    assert not (workspace_dir / "pwned").exists()
    assert not spawner.exists()


async def test_the_marker_would_have_shown_a_run(rt: ToolRuntime, workspace_dir: Path) -> None:
    """The control for the test above: an allowed command that writes the marker does."""
    await _run(rt, "tee pwned", stdin="x")
    assert (workspace_dir / "pwned").read_text() == "x"


async def test_timeout_kills_the_process_group(rt: ToolRuntime, spawner: Path) -> None:
    started = time.monotonic()
    result = await _run(rt, f"{PY} spawn.py", timeout_seconds=1.5)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert result.signal == "SIGTERM"
    assert result.exit_code is None
    assert result.stdout == "started\n"
    assert result.notice
    assert "stopped" in result.notice
    assert elapsed < 4.0
    assert _token_gone(spawner.read_text())


@pytest.mark.parametrize("sandbox", [True, False])
async def test_sigterm_ignored_then_sigkill(
    settings: Settings, spawner: Path, *, sandbox: bool
) -> None:
    """Unsandboxed, a command that ignores SIGTERM gets SIGKILL after the grace period.

    Sandboxed, SIGTERM ends the waiter outside the PID namespace and the kernel kills the
    command with it (PDEATHSIG), so the call reports SIGTERM and nothing survives either way.
    """
    rt = _runtime(_with_shell(settings, sandbox=sandbox))
    result = await _run(rt, f"{PY} spawn.py --ignore-term", timeout_seconds=1.0)
    assert result.timed_out
    assert result.sandboxed is sandbox
    assert result.signal == ("SIGTERM" if sandbox else "SIGKILL")
    assert _token_gone(spawner.read_text())


async def test_background_child_does_not_hold_the_call(rt: ToolRuntime, spawner: Path) -> None:
    """The script exits at once but its child keeps stdout open: the call still returns."""
    started = time.monotonic()
    result = await _run(rt, f"{PY} spawn.py --exit --hold-stdout", timeout_seconds=20)
    assert time.monotonic() - started < 5
    assert result.exit_code == 0
    assert not result.timed_out
    assert _token_gone(spawner.read_text())


async def test_a_double_fork_does_not_outlive_the_call(rt: ToolRuntime, spawner: Path) -> None:
    """setsid + double fork leaves the process group; the sandbox's PID namespace holds it."""
    result = await _run(rt, f"{PY} spawn.py --exit --double-fork", timeout_seconds=20)
    assert result.sandboxed
    assert result.exit_code == 0
    assert _token_gone(spawner.read_text())


async def test_cancellation_kills_everything(rt: ToolRuntime, spawner: Path) -> None:
    task = asyncio.create_task(_run(rt, f"{PY} spawn.py", timeout_seconds=30))
    deadline = time.monotonic() + 10
    while not spawner.exists() or not spawner.read_text():
        assert time.monotonic() < deadline, "the script did not start"
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _token_gone(spawner.read_text())


async def test_output_is_capped_head_and_tail(workspace_dir: Path, settings: Settings) -> None:
    rt = _runtime(_with_shell(settings, max_output_bytes=1000))
    body = "HEAD-MARK\n" + "x" * 20_000 + "\nTAIL-MARK\n"
    (workspace_dir / "big.txt").write_text(body)
    result = await _run(rt, "cat big.txt")
    assert result.stdout_truncated
    assert result.stdout_bytes == len(body)
    assert result.stdout.startswith("HEAD-MARK")
    assert result.stdout.endswith("TAIL-MARK\n")
    assert f"[... {len(body) - 1000} bytes omitted ...]" in result.stdout
    assert len(result.stdout.encode()) < 1100
    assert result.notice
    assert "stdout was" in result.notice
    assert "tee" in result.notice
    assert not result.stderr_truncated
    (workspace_dir / "err.py").write_text("import sys\nsys.stderr.write('e' * 5000)\n")
    errors = await _run(rt, f"{PY} err.py")
    assert errors.stderr_truncated
    assert errors.stderr_bytes == 5000
    assert not errors.stdout_truncated
    assert errors.notice
    assert "stderr was" in errors.notice


async def test_secrets_are_scrubbed_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, workspace_dir: Path, tmp_path: Path
) -> None:
    secrets = {
        "MY_API_KEY": "k-123456789",
        "GITHUB_TOKEN": "t-123456789",
        "DB_PASSWORD": "p-123456789",
        "AWS_SECRET_ACCESS_KEY": "s-123456789",
        "OPENAI_KEY": "o-123456789",
        "SERVICE_CREDENTIALS": "c-123456789",
        "SENTRY_DSN": "d-123456789",
        "DATABASE_URL": "postgres://user:hunter22@db/x",
        "SOME_VALUE": "sk-abcdefghijklmnopqrstuvwx",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PLAIN_SETTING", "visible-value")
    monkeypatch.setenv("NPM_TOKEN", "n-123456789")
    settings = load_settings(workspace=workspace_dir, data_dir=tmp_path / "data")
    result = await _run(_runtime(_with_shell(settings, env_passthrough=["NPM_TOKEN"])), "env")
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    for name, value in secrets.items():
        assert name not in env
        assert value not in result.stdout
    assert env["PLAIN_SETTING"] == "visible-value"
    assert env["NPM_TOKEN"] == "n-123456789"
    assert env["PAGER"] == "cat"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["PWD"] == str(workspace_dir)


async def test_relative_path_entries_are_ignored(
    rt: ToolRuntime, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 'wc' planted in the workspace is not found through '.' on PATH."""
    fake = workspace_dir / "wc"
    fake.write_text("#!/bin/sh\n: > pwned\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([".", "", os.environ["PATH"]]))
    result = await _run(rt, "wc -c", stdin="abc")
    assert result.stdout.strip() == "3"
    assert not (workspace_dir / "pwned").exists()


async def test_program_not_installed(settings: Settings) -> None:
    rt = _runtime(_with_shell(settings, extra_allowed_programs=["luminamind-no-such-program"]))
    with pytest.raises(ToolExecutionError, match="not found on PATH"):
        await _run(rt, "luminamind-no-such-program --help")


async def test_program_allowlisted_by_path(workspace_dir: Path, settings: Settings) -> None:
    script = workspace_dir / "tools" / "hello.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho hello from $0\n")
    script.chmod(0o755)
    rt = _runtime(_with_shell(settings, extra_allowed_programs=["./tools/hello.sh"]))
    assert (await _run(rt, "./tools/hello.sh")).stdout == f"hello from {script}\n"
    with pytest.raises(CommandBlockedError, match="not by path"):
        await _run(rt, "tools/hello.sh")


async def test_arguments_outside_the_workspace(rt: ToolRuntime, workspace_dir: Path) -> None:
    outside = workspace_dir.parent / "outside.txt"
    outside.write_text("secret")
    (workspace_dir / "link").symlink_to(outside)
    for command in (f"cat {outside}", "cat ../outside.txt", "cat link", "tee ../outside.txt"):
        with pytest.raises(CommandBlockedError, match="outside the workspace"):
            await _run(rt, command, stdin="overwrite")
    assert outside.read_text() == "secret"


async def test_a_real_git_session(
    rt: ToolRuntime, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git works for ordinary use, with no pager or editor waiting for a terminal."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    assert (await _run(rt, "git init -q")).exit_code == 0
    (workspace_dir / "a.txt").write_text("one\n")
    assert (await _run(rt, "git add a.txt")).exit_code == 0
    commit = await _run(rt, "git commit -q -m 'first commit'", timeout_seconds=10)
    assert commit.exit_code == 0, commit.stderr
    log = await _run(rt, "git log --oneline | head -n 5")
    assert "first commit" in log.stdout
    # Without -m git would open an editor; GIT_EDITOR=true makes it give up at once.
    (workspace_dir / "a.txt").write_text("two\n")
    no_message = await _run(rt, "git commit -qa", timeout_seconds=10)
    assert not no_message.timed_out
    assert no_message.exit_code != 0
    assert "1 file changed" in (await _run(rt, "git diff --stat")).stdout


def test_module_exports() -> None:
    assert [spec.name for spec in shell.TOOLS] == ["shell"]
    assert [spec.name for spec in system.TOOLS] == ["os_info"]
