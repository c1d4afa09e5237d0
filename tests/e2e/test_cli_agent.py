"""`luminamind run`, `resume` and `threads` as real processes against the scripted LLM.

Every process gets the scripted server's environment, its own data dir (checkpoints, threads,
audit log) and ``--workspace``; the scripted server runs in the test process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.llm_server import ScriptedLLM, Turn

BIN = Path(sys.executable).parent / "luminamind"
CODE = "code-executor subagent"
OLD = "def greet():\n    return 'hello'\n"
NEW = "def greet():\n    return 'hello, world'\n"


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    (workspace_dir / "app.py").write_text(OLD)
    return workspace_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "lm-data"


def _env(llm: ScriptedLLM, data_dir: Path, **knobs: float | str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(llm.env(model_settings=knobs))
    env["LUMINAMIND_DATA_DIR"] = str(data_dir)
    env["LUMINAMIND_CACHE__BACKEND"] = "memory"
    return env


def _cmd(workspace: Path, *args: str) -> list[str]:
    return [str(BIN), "--workspace", str(workspace), *args]


def lm(
    llm: ScriptedLLM, data_dir: Path, workspace: Path, *args: str, **knobs: float | str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _cmd(workspace, *args),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env=_env(llm, data_dir, **knobs),
        check=False,
    )


def _audit(data_dir: Path) -> list[str]:
    path = data_dir / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["tool"] for line in path.read_text().splitlines()]


def script_edit(llm: ScriptedLLM) -> None:
    llm.script(
        [
            Turn.tool_calls(
                ("write_todos", {"todos": [{"content": "Change greet", "status": "in_progress"}]})
            ),
            Turn.tool_calls(
                (
                    "task",
                    {
                        "description": "Make greet say hello, world",
                        "subagent_type": "code-executor",
                    },
                )
            ),
            Turn.text("Done: greet says hello, world."),
        ]
    )
    llm.script_for(
        CODE,
        [
            Turn.tool_calls(
                ("read_file", {"path": "app.py"}), ("grep_search", {"pattern": "greet"})
            ),
            Turn.tool_calls(("write_file", {"path": "app.py", "content": NEW})),
            Turn.text("Changed app.py."),
        ],
    )


def test_run_waits_for_approval_then_resume_yes(
    llm_server: ScriptedLLM, data_dir: Path, project: Path
) -> None:
    script_edit(llm_server)
    first = lm(llm_server, data_dir, project, "run", "Make greet say hello", "--thread", "e2e-1")
    assert first.returncode == 3, first.stderr
    assert "luminamind resume e2e-1 --yes" in first.stderr
    assert "+    return 'hello, world'" in first.stderr  # the diff is shown
    assert project.joinpath("app.py").read_text() == OLD

    listed = lm(llm_server, data_dir, project, "threads", "--json")
    assert listed.returncode == 0, listed.stderr
    (info,) = json.loads(listed.stdout)
    assert info["thread_id"] == "e2e-1"
    assert info["status"] == "awaiting_approval"

    done = lm(llm_server, data_dir, project, "resume", "e2e-1", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Done: greet says hello, world." in done.stdout
    assert project.joinpath("app.py").read_text() == NEW
    assert _audit(data_dir).count("read_file") == 1
    llm_server.assert_done()

    shown = lm(llm_server, data_dir, project, "threads", "show", "e2e-1", "--json")
    assert shown.returncode == 0, shown.stderr
    state = json.loads(shown.stdout)
    assert state["todos"][0]["content"] == "Change greet"
    assert state["pending_approvals"] == []
    removed = lm(llm_server, data_dir, project, "threads", "rm", "e2e-1")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(lm(llm_server, data_dir, project, "threads", "--json").stdout) == []


def test_run_yes_json_and_deny(llm_server: ScriptedLLM, data_dir: Path, project: Path) -> None:
    script_edit(llm_server)
    result = lm(llm_server, data_dir, project, "run", "Edit it", "--yes", "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["type"] == "run_started"
    assert events[-1] == {
        "thread_id": events[0]["thread_id"],
        "type": "final_answer",
        "text": "Done: greet says hello, world.",
    }
    assert any(e["type"] == "approval_requested" for e in events)
    assert project.joinpath("app.py").read_text() == NEW

    project.joinpath("app.py").write_text(OLD)
    llm_server.reset()
    script_edit(llm_server)
    denied = lm(llm_server, data_dir, project, "run", "Edit it", "--deny")
    assert denied.returncode == 0, denied.stderr
    assert project.joinpath("app.py").read_text() == OLD
    last_sub = [c for c in llm_server.calls if CODE in c.system][-1]
    assert any("does not allow" in r for r in last_sub.tool_results)


def test_run_shows_reasoning_dim_on_stderr_and_only_the_answer_on_stdout(
    llm_server: ScriptedLLM, data_dir: Path, project: Path
) -> None:
    answer = Turn.text("Forty-two.", reasoning="Six times seven is forty-two.")
    llm_server.script([answer, answer])
    result = lm(llm_server, data_dir, project, "run", "6*7?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Forty-two."
    assert "Six times seven is forty-two." in result.stderr
    streamed = lm(llm_server, data_dir, project, "run", "6*7?", "--json")
    types = [json.loads(line)["type"] for line in streamed.stdout.splitlines()]
    assert "reasoning_delta" in types


def test_sigkill_mid_task_then_resume_does_not_repeat_tools(
    llm_server: ScriptedLLM, data_dir: Path, project: Path
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": "app.py"})),
            Turn.tool_calls(("grep_search", {"pattern": "greet"})),
            # The process is killed while it waits for this answer.
            Turn.tool_calls(("write_file", {"path": "app.py", "content": NEW}), delay=30),
        ]
    )
    proc = subprocess.Popen(
        _cmd(project, "run", "Edit greet", "--thread", "crash-1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=_env(llm_server, data_dir, timeout_seconds=60),
    )
    try:
        llm_server.wait_for_calls(3, timeout=60)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert _audit(data_dir) == ["read_file", "grep_search"]

    llm_server.reset()
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "app.py", "content": NEW})),
            Turn.text("Edited after the crash."),
        ]
    )
    resumed = lm(llm_server, data_dir, project, "resume", "crash-1", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert "Edited after the crash." in resumed.stdout
    assert project.joinpath("app.py").read_text() == NEW
    assert _audit(data_dir) == ["read_file", "grep_search", "write_file"]
    # The resumed model call saw both earlier tool results: the history was kept.
    assert len(llm_server.calls[0].tool_results) == 2


def test_missing_model_config_explains_and_exits_2(data_dir: Path, project: Path) -> None:
    env = dict(os.environ)
    env["LUMINAMIND_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        _cmd(project, "run", "hello"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "GLM_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
