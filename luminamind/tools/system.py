"""The ``os_info`` tool: what machine and toolchain the agent is working on."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import sys
from typing import Literal

from pydantic import BaseModel, Field

from luminamind.tools._shell_run import command_environment
from luminamind.tools.context import ToolContext
from luminamind.tools.registry import tool
from luminamind.tools.rg import find_rg

__all__ = ["TOOLS", "OsInfo", "os_info"]

# Programs worth knowing about, with the flag that prints their version.
_PROGRAMS: tuple[tuple[str, str], ...] = (
    ("rg", "--version"),
    ("git", "--version"),
    ("python3", "--version"),
    ("node", "--version"),
    ("npm", "--version"),
    ("make", "--version"),
    ("go", "version"),
    ("cargo", "--version"),
    ("jq", "--version"),
    ("pytest", "--version"),
    ("ruff", "--version"),
    ("mypy", "--version"),
)
_VERSION_TIMEOUT_SECONDS = 5.0


class MemoryInfo(BaseModel):
    """Physical memory in bytes."""

    total_bytes: int
    available_bytes: int


class DiskInfo(BaseModel):
    """Usage of the file system holding the workspace, in bytes."""

    path: str
    total_bytes: int
    used_bytes: int
    free_bytes: int


class RootInfo(BaseModel):
    """A directory the tools may reach."""

    path: str
    mode: Literal["ro", "rw"]


class ProgramInfo(BaseModel):
    """A program on PATH: where it is, its version, whether the shell tool may run it."""

    name: str
    path: str | None = Field(description="Absolute path, or null when not installed")
    version: str | None = Field(description="First line of its version output")
    allowed_in_shell: bool


class OsInfo(BaseModel):
    """The operating system, interpreter, hardware, workspace and available programs."""

    os: str = Field(description="Linux, Darwin, Windows...")
    os_release: str = Field(description="Kernel release (uname -r)")
    kernel_version: str = Field(description="Kernel build (uname -v)")
    distribution: str | None = Field(description="e.g. 'Debian GNU/Linux 12 (bookworm)'")
    machine: str = Field(description="CPU architecture, e.g. x86_64")
    python_version: str
    python_implementation: str
    python_executable: str
    cpu_count: int | None = Field(description="Logical CPUs")
    cpu_count_usable: int | None = Field(description="CPUs this process may run on")
    memory: MemoryInfo
    disk: DiskInfo
    workspace: str
    roots: list[RootInfo]
    programs: list[ProgramInfo]


def _distribution() -> str | None:
    try:
        release = platform.freedesktop_os_release()
    except OSError:  # not Linux, or no os-release file
        return None
    return release.get("PRETTY_NAME") or release.get("NAME")


def _usable_cpus() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


async def _version(path: str, flag: str, env: dict[str, str]) -> str | None:
    try:
        proc = await asyncio.create_subprocess_exec(
            path,
            flag,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), _VERSION_TIMEOUT_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    lines = out.decode("utf-8", "replace").strip().splitlines()
    return lines[0].strip() if lines and proc.returncode == 0 else None


async def _program(
    name: str, flag: str, env: dict[str, str], allowed: frozenset[str]
) -> ProgramInfo:
    path = find_rg() if name == "rg" else shutil.which(name, path=env.get("PATH"))
    version = await _version(path, flag, env) if path else None
    return ProgramInfo(name=name, path=path, version=version, allowed_in_shell=name in allowed)


@tool(family="system", read_only=True)
async def os_info(ctx: ToolContext) -> OsInfo:
    """Describe the machine: OS, kernel, Python, CPUs, memory, disk, workspace and programs.

    Programs (rg, git, python3, node, npm, make, go, cargo, jq, pytest, ruff, mypy) are listed
    with their path, version and whether the shell tool may run them; a null path means the
    program is not installed.
    """
    workspace = ctx.workspace.root
    shell_settings = ctx.settings.shell
    allowed = frozenset(shell_settings.allowed_programs) | set(
        shell_settings.extra_allowed_programs
    )
    allowed -= set(shell_settings.blocked_programs)
    # The same environment and PATH the shell tool gives commands, so 'found' means runnable.
    env = command_environment(os.environ, cwd=workspace)
    programs = await asyncio.gather(
        *(_program(name, flag, env, allowed) for name, flag in _PROGRAMS)
    )
    import psutil  # on first call: importing it costs more than this whole tool's answer

    memory = psutil.virtual_memory()
    disk = shutil.disk_usage(workspace)
    uname = platform.uname()
    return OsInfo(
        os=uname.system,
        os_release=uname.release,
        kernel_version=uname.version,
        distribution=_distribution(),
        machine=uname.machine,
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        python_executable=sys.executable,
        cpu_count=os.cpu_count(),
        cpu_count_usable=_usable_cpus(),
        memory=MemoryInfo(total_bytes=memory.total, available_bytes=memory.available),
        disk=DiskInfo(
            path=str(workspace), total_bytes=disk.total, used_bytes=disk.used, free_bytes=disk.free
        ),
        workspace=str(workspace),
        roots=[RootInfo(path=str(r.path), mode=r.mode) for r in ctx.workspace.roots],
        programs=list(programs),
    )


TOOLS = (os_info,)
