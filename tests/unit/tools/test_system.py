"""os_info through the executor, checked against independent sources (/proc, uname, rg)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from luminamind.config import Settings, load_settings
from luminamind.errors import ToolArgumentsError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import shell, system
from luminamind.tools.registry import ToolRegistry
from luminamind.tools.rg import find_rg
from luminamind.tools.system import OsInfo


def _runtime(settings: Settings) -> ToolRuntime:
    registry = ToolRegistry((*shell.TOOLS, *system.TOOLS))
    return build_tool_runtime(settings, surface="cli", registry=registry, use_cache=False)


async def _info(settings: Settings) -> OsInfo:
    rt = _runtime(settings)
    # read_only: no approval needed, so approved=False must work.
    result = await rt.executor.acall("os_info", {}, context=rt.context, approved=False)
    assert isinstance(result, OsInfo)
    return result


def _meminfo_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


async def test_describes_the_machine(settings: Settings, workspace_dir: Path) -> None:
    info = await _info(settings)
    uname = os.uname()
    assert info.os == uname.sysname
    assert info.os_release == uname.release
    assert info.machine == uname.machine
    assert info.python_version == platform.python_version()
    assert info.cpu_count == os.cpu_count()
    assert info.cpu_count_usable is not None
    assert 1 <= info.cpu_count_usable <= (info.cpu_count or 1)
    if Path("/proc/meminfo").exists():
        assert info.memory.total_bytes == _meminfo_total()
    assert 0 < info.memory.available_bytes <= info.memory.total_bytes
    disk = shutil.disk_usage(workspace_dir)
    assert info.disk.path == str(workspace_dir)
    assert info.disk.total_bytes == disk.total
    assert info.workspace == str(workspace_dir)
    assert [(r.path, r.mode) for r in info.roots] == [(str(workspace_dir), "rw")]


async def test_lists_programs_with_versions(settings: Settings) -> None:
    info = await _info(settings)
    programs = {p.name: p for p in info.programs}
    rg = programs["rg"]
    assert rg.path == find_rg()
    assert rg.version is not None
    assert rg.version.startswith("ripgrep 14.1")
    assert rg.allowed_in_shell
    git = programs["git"]
    if shutil.which("git"):
        expected = subprocess.run(
            ["git", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert git.version == expected
    else:
        assert git.path is None
        assert git.version is None
    for program in info.programs:
        if program.path is None:  # not installed: nothing to ask for a version
            assert program.version is None


async def test_reflects_the_settings(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ro = tmp_path / "docs"
    ro.mkdir()
    monkeypatch.setenv("LUMINAMIND_SHELL__BLOCKED_PROGRAMS", '["git"]')
    monkeypatch.setenv("LUMINAMIND_EXTRA_ROOTS", json.dumps([{"path": str(ro), "mode": "ro"}]))
    info = await _info(load_settings(workspace=workspace_dir, data_dir=tmp_path / "data"))
    programs = {p.name: p for p in info.programs}
    assert not programs["git"].allowed_in_shell
    assert programs["rg"].allowed_in_shell
    assert ("ro", str(ro.resolve())) in [(r.mode, r.path) for r in info.roots]


async def test_takes_no_arguments(settings: Settings) -> None:
    rt = _runtime(settings)
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall("os_info", {"verbose": True}, context=rt.context)
    assert info.value.fields == ("verbose",)
    spec = rt.registry.get("os_info")
    assert spec.annotations.read_only
    assert spec.family == "system"
    assert not spec.annotations.needs_approval
