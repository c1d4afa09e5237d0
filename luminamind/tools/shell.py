"""The ``shell`` tool: run one allowlisted command (or a pipeline) without a shell.

The command is checked by `ShellPolicy` before anything starts (see docs/shell-policy.md), runs
with the workspace as its confinement, a scrubbed environment and a timeout that stops its whole
process group, and returns bounded output.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from luminamind.config import ShellSettings
from luminamind.errors import CommandBlockedError, ToolArgumentsError, ToolExecutionError
from luminamind.security.sandbox import PreparedSandbox, SandboxSpec, sandbox_status
from luminamind.security.shell_lexer import MAX_COMMAND_LENGTH
from luminamind.security.shell_policy import PathResolver, ShellPolicy
from luminamind.security.workspace import Workspace
from luminamind.tools._shell_run import (
    KILL_GRACE_SECONDS,
    CappedBuffer,
    command_environment,
    find_program,
    run_pipeline,
)
from luminamind.tools.context import ToolContext
from luminamind.tools.editor import Editor
from luminamind.tools.registry import tool

__all__ = ["TOOLS", "ShellResult", "sandbox_note", "shell"]

MAX_STDIN_CHARS = 1_000_000


class ShellResult(BaseModel):
    """The outcome of a command. A non-zero exit code is a result, not an error."""

    command: str = Field(description="The command as given")
    argv: list[list[str]] = Field(description="The argv of each pipeline stage that ran")
    cwd: str = Field(description="Working directory, relative to the workspace")
    exit_code: int | None = Field(
        description="Exit status of the last stage; null when it was killed by a signal"
    )
    signal: str | None = Field(default=None, description="Signal that ended the last stage")
    stage_exit_codes: list[int | None] = Field(description="Exit status of every stage")
    stdout: str
    stderr: str = Field(description="stderr of every stage, in the order they wrote it")
    stdout_bytes: int = Field(description="Total bytes written to stdout")
    stderr_bytes: int = Field(description="Total bytes written to stderr")
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool = Field(description="The command ran past its timeout and was stopped")
    timeout_seconds: float
    duration_ms: float
    notice: str | None = Field(
        default=None, description="What was cut or stopped, and how to get the rest"
    )
    sandboxed: bool = Field(
        default=False,
        description="The command ran in the OS sandbox (workspace-only files, no network "
        "unless configured); see docs/security.md",
    )


def _resolver(workspace: Workspace, cwd: Path) -> PathResolver:
    """Confine arguments the way the program will read them: relative to its cwd."""

    def resolve(arg: str, write: bool) -> Path:
        path = Path(arg)
        return workspace.resolve(path if path.is_absolute() else cwd / path, write=write)

    return resolve


def sandbox_note(settings: ShellSettings) -> str | None:
    """What an approval prompt for ``shell`` must add: "not sandboxed" and why, else None."""
    if not settings.sandbox:
        return "not sandboxed: shell.sandbox is off; the command runs with your full rights"
    status = sandbox_status()
    if not status.available:
        return f"not sandboxed: {status.reason}; the command runs with your full rights"
    return None


def _sandbox(ctx: ToolContext, env: dict[str, str]) -> PreparedSandbox | None:
    """The sandbox this call runs in, None when off or unavailable (refused if required)."""
    settings = ctx.settings.shell
    status = sandbox_status()
    if not settings.sandbox or not status.available:
        if settings.require_sandbox:
            why = "shell.sandbox is off" if not settings.sandbox else status.reason
            raise CommandBlockedError(
                f"refused to run without the OS sandbox ({why}) because shell.require_sandbox "
                "is true; run LuminaMind where Landlock is available, or set "
                "shell.require_sandbox = false. Nothing was run."
            )
        return None
    roots = ctx.workspace.roots
    spec = SandboxSpec(
        read_write=tuple(r.path for r in roots if r.mode == "rw"),
        read_only=tuple(r.path for r in roots if r.mode == "ro")
        + tuple(Path(p).expanduser() for p in settings.sandbox_read_paths),
        network=settings.sandbox_network,
    )
    try:
        return spec.prepare(path_dirs=env.get("PATH", "").split(os.pathsep))
    except OSError as exc:
        raise ToolExecutionError(
            f"cannot set up the shell sandbox: {exc.strerror or exc}; set shell.sandbox = false "
            "to run unsandboxed. Nothing was run."
        ) from exc


def _timeout(ctx: ToolContext, requested: float | None) -> float:
    settings = ctx.settings.shell
    if requested is None:
        return settings.timeout_seconds
    if requested > settings.max_timeout_seconds:
        raise ToolArgumentsError(
            f"shell: timeout_seconds {requested:g} is above the limit "
            f"{settings.max_timeout_seconds:g} (shell.max_timeout_seconds); ask for less",
            fields=["timeout_seconds"],
        )
    return requested


def _notice(
    stdout: CappedBuffer, stderr: CappedBuffer, *, timed_out: bool, timeout: float
) -> str | None:
    parts: list[str] = []
    if timed_out:
        parts.append(
            f"The command ran longer than {timeout:g} s and was stopped (SIGTERM, then SIGKILL "
            f"after {KILL_GRACE_SECONDS:g} s), with every process it started. Pass a larger "
            "timeout_seconds, or run something quicker."
        )
    for name, buf in (("stdout", stdout), ("stderr", stderr)):
        if buf.truncated:
            parts.append(
                f"{name} was {buf.total} bytes; only the first and last {buf.limit // 2} are "
                "shown. Narrow the command (grep, '| head -n 100', '| tail -n 100'), or save "
                "the whole output with '| tee out.txt' and read it with read_file."
            )
    return " ".join(parts) or None


def _signal_name(code: int | None) -> str | None:
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


async def _run_in_editor(
    ctx: ToolContext,
    editor: Editor,
    command: str,
    stage: Sequence[str],
    executable: str,
    workdir: Path,
    env: dict[str, str],
    time_limit: float,
) -> ShellResult:
    timeout = time_limit
    ran = await editor.run_command(
        [executable, *stage[1:]],
        cwd=workdir,
        env=env,
        time_limit=timeout,
        max_output_bytes=ctx.settings.shell.max_output_bytes,
    )
    notes = ["Ran in the editor's terminal (stdout and stderr merged), not sandboxed."]
    if ran.timed_out:
        notes.append(f"The command ran longer than {timeout:g} s and was stopped.")
    if ran.truncated:
        notes.append("The editor's terminal kept only the end of the output.")
    return ShellResult(
        command=command,
        argv=[list(stage)],
        cwd=ctx.workspace.relative(workdir),
        exit_code=ran.exit_code,
        signal=ran.signal,
        stage_exit_codes=[ran.exit_code],
        stdout=ran.output,
        stderr="",
        stdout_bytes=len(ran.output.encode("utf-8", "replace")),
        stderr_bytes=0,
        stdout_truncated=ran.truncated,
        stderr_truncated=False,
        timed_out=ran.timed_out,
        timeout_seconds=timeout,
        duration_ms=round(ran.duration_s * 1000, 2),
        notice=" ".join(notes),
    )


@tool(family="shell", destructive=True, needs_approval=True, open_world=False)
async def shell(
    ctx: ToolContext,
    *,
    command: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_COMMAND_LENGTH,
            description="Program and arguments, quoted like a POSIX shell; '|' may join "
            "stages. No ';', '&&', redirections, '$VAR', globs or substitutions.",
        ),
    ],
    cwd: Annotated[
        str, Field(min_length=1, description="Working directory, relative to the workspace")
    ] = ".",
    timeout_seconds: Annotated[
        float | None,
        Field(gt=0, description="Stop the command after this many seconds (default 60)"),
    ] = None,
    stdin: Annotated[
        str | None,
        Field(max_length=MAX_STDIN_CHARS, description="Text fed to the command's stdin"),
    ] = None,
) -> ShellResult:
    """Run an allowlisted program in the workspace, without a shell, and return its output.

    The command is split like a POSIX shell splits it, but nothing is expanded: write file
    names and values literally (quote patterns such as '*.py'). Stages joined with '|' are
    checked one by one and connected with pipes. Refused: shells and interpreters' inline code
    (bash, python -c), ';', '&&', '||', redirections ('>' - use write_file), '$VAR', '$(...)',
    globs, paths outside the workspace, and escape hatches such as find -exec, git -c or
    sed's 'e' command. A non-zero exit code is reported in the result, not as an error. Output
    is capped; the result says when it was cut and how to get the rest.
    """
    timeout = _timeout(ctx, timeout_seconds)
    # The argument model already refuses lone surrogates, so this encodes cleanly.
    stdin_bytes = stdin.encode("utf-8") if stdin is not None else None
    workdir = ctx.workspace.resolve(cwd)
    if not workdir.is_dir():
        raise ToolExecutionError(
            f"cwd '{cwd}' is not a directory; give a directory relative to the workspace"
        )
    policy = ShellPolicy.from_settings(ctx.settings.shell)
    checked = policy.check(
        command, resolve_path=_resolver(ctx.workspace, workdir), has_stdin=stdin is not None
    )
    env = command_environment(
        os.environ, passthrough=ctx.settings.shell.env_passthrough, cwd=workdir
    )
    executables = [find_program(argv[0], env=env, cwd=workdir) for argv in checked.stages]
    sandbox = _sandbox(ctx, env)
    editor = ctx.editor
    # The editor's terminal runs what it is given outside LuminaMind's OS sandbox, so it is used
    # only when no sandbox would apply anyway (shell.sandbox off, or none on this machine).
    # It takes one program and its arguments: pipelines and stdin (which the terminal API has no
    # way to feed) run locally, under the same policy.
    if (
        sandbox is None
        and editor is not None
        and editor.runs_commands
        and len(checked.stages) == 1
        and not stdin
    ):
        return await _run_in_editor(
            ctx, editor, command, checked.stages[0], executables[0], workdir, env, timeout
        )
    try:
        run = await run_pipeline(
            executables,
            checked.stages,
            cwd=workdir,
            env=env if sandbox is None else sandbox.environment(env),
            stdin=stdin_bytes,
            time_limit=timeout,
            max_output_bytes=ctx.settings.shell.max_output_bytes,
            sandbox=sandbox,
        )
    finally:
        if sandbox is not None:
            sandbox.close()
    last = run.returncodes[-1]
    return ShellResult(
        command=command,
        argv=[list(argv) for argv in checked.stages],
        cwd=ctx.workspace.relative(workdir),
        exit_code=last if last is not None and last >= 0 else None,
        signal=_signal_name(last),
        stage_exit_codes=run.returncodes,
        stdout=run.stdout.text(),
        stderr=run.stderr.text(),
        stdout_bytes=run.stdout.total,
        stderr_bytes=run.stderr.total,
        stdout_truncated=run.stdout.truncated,
        stderr_truncated=run.stderr.truncated,
        timed_out=run.timed_out,
        timeout_seconds=timeout,
        duration_ms=round(run.duration_s * 1000, 2),
        notice=_notice(run.stdout, run.stderr, timed_out=run.timed_out, timeout=timeout),
        sandboxed=sandbox is not None,
    )


TOOLS = (shell,)
