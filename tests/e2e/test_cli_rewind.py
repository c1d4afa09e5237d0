"""`luminamind rewind` and `threads show` as real processes against the scripted LLM.

The rewind scenario (tests/support/rewind_scenario.py) in a folder that is not a git repository:
two `luminamind run` turns, then the rewind, then a third turn whose model request shows the
conversation as of turn 1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.rewind_scenario import (
    AFTER_TURN_1,
    AFTER_TURN_2,
    BEFORE,
    MESSAGE_1,
    MESSAGE_2,
    MESSAGE_3,
    human_texts,
    prepare_workspace,
    script_two_turns,
    snapshot_files,
)

pytestmark = pytest.mark.slow  # eleven CLI processes

BIN = Path(sys.executable).parent / "luminamind"
THREAD = "rewind-cli"


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    prepare_workspace(workspace_dir)
    return workspace_dir


def lm(
    llm: ScriptedLLM, data_dir: Path, workspace: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env=lm_env(llm, data_dir),
        check=False,
    )


def lm_env(llm: ScriptedLLM, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(llm.env())
    env["LUMINAMIND_DATA_DIR"] = str(data_dir)
    env["LUMINAMIND_CACHE__BACKEND"] = "memory"
    return env


def two_turns(llm: ScriptedLLM, data_dir: Path, project: Path) -> None:
    for message in (MESSAGE_1, MESSAGE_2):
        done = lm(llm, data_dir, project, "run", "--thread", THREAD, "--yes", message)
        assert done.returncode == 0, done.stderr
    assert snapshot_files(project) == AFTER_TURN_2


def test_threads_show_and_rewind_to_turn_2_from_the_cli(
    llm_server: ScriptedLLM, tmp_path: Path, project: Path
) -> None:
    data = tmp_path / "lm-data"
    script_two_turns(llm_server, then=(Turn.text("We created new.txt."),))
    two_turns(llm_server, data, project)

    shown = lm(llm_server, data, project, "threads", "show", THREAD, "--json")
    assert shown.returncode == 0, shown.stderr
    turns = json.loads(shown.stdout)["turns"]
    assert [[(f["path"], f["change"]) for f in t["files"]] for t in turns] == [
        [("edit.txt", "modified"), ("new.txt", "created")],
        [("gone.txt", "deleted"), ("made.txt", "created")],
    ]
    text = lm(llm_server, data, project, "threads", "show", THREAD)
    assert "turn 2" in text.stdout
    assert "made.txt (shell)" in text.stdout

    asked = lm(llm_server, data, project, "rewind", THREAD, "--to", "2")
    assert asked.returncode == 3, asked.stderr
    assert "restore gone.txt (write)" in asked.stdout
    assert "--yes" in asked.stderr
    assert snapshot_files(project) == AFTER_TURN_2

    done = lm(llm_server, data, project, "rewind", THREAD, "--to", "2", "--yes")
    assert done.returncode == 0, done.stderr
    assert "restored made.txt" in done.stdout
    assert snapshot_files(project) == AFTER_TURN_1

    third = lm(llm_server, data, project, "run", "--thread", THREAD, MESSAGE_3)
    assert third.returncode == 0, third.stderr
    assert human_texts(llm_server.calls[-1]) == [
        f"user: {MESSAGE_1}",
        "assistant: Turn one done.",
        f"user: {MESSAGE_3}",
    ]


def test_rewind_to_turn_1_and_the_bad_inputs_from_the_cli(
    llm_server: ScriptedLLM, tmp_path: Path, project: Path
) -> None:
    data = tmp_path / "lm-data"
    script_two_turns(llm_server)
    two_turns(llm_server, data, project)

    missing = lm(llm_server, data, project, "rewind", THREAD, "--to", "9", "--yes")
    assert missing.returncode == 1
    assert "has no turn 9: it has turns 1 to 2" in missing.stderr
    unknown = lm(llm_server, data, project, "rewind", "no-such-thread", "--yes")
    assert unknown.returncode == 1
    assert "no thread 'no-such-thread'" in unknown.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = lm(llm_server, data, elsewhere, "rewind", THREAD, "--yes")
    assert other.returncode == 1
    assert f"works in {project}" in other.stderr

    (project / "new.txt").write_text("the user's own\n")
    conflict = lm(llm_server, data, project, "rewind", THREAD, "--to", "1", "--yes")
    assert conflict.returncode == 1
    assert "new.txt: changed after the agent's edit" in conflict.stderr
    assert "+the user's own" not in conflict.stdout  # the diff goes from the user's text back
    assert "-the user's own" in conflict.stdout
    assert (project / "new.txt").read_text() == "the user's own\n"

    kept = lm(llm_server, data, project, "rewind", THREAD, "--to", "1", "--yes", "--partial")
    assert kept.returncode == 0, kept.stderr
    assert "left as it is new.txt" in kept.stdout
    assert snapshot_files(project) == {**BEFORE, "new.txt": "the user's own\n"}
    assert not (project / ".git").exists()


def test_rewind_refused_while_another_process_runs_the_thread(
    llm_server: ScriptedLLM, tmp_path: Path, project: Path
) -> None:
    """A run in another process holds the thread (no rewind, no delete); once it is killed, not."""
    data = tmp_path / "lm-data"
    script_two_turns(llm_server, then=(Turn.hang(120),))
    two_turns(llm_server, data, project)
    runner = subprocess.Popen(
        [str(BIN), "--workspace", str(project), "run", "--thread", THREAD, "--yes", MESSAGE_3],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=lm_env(llm_server, data),
    )
    try:
        llm_server.wait_for_calls(5, timeout=60)  # the third turn waits for the model
        shown = lm(llm_server, data, project, "threads", "show", THREAD, "--json")
        assert json.loads(shown.stdout)["info"]["status"] == "running", shown.stdout
        refused = lm(llm_server, data, project, "rewind", THREAD, "--to", "2", "--yes")
        assert refused.returncode == 1, refused.stderr
        assert "is running in another process" in refused.stderr
        assert f"pid {runner.pid}" in refused.stderr
        assert snapshot_files(project) == AFTER_TURN_2
        kept = lm(llm_server, data, project, "threads", "rm", THREAD)  # nor deleted under it
        assert kept.returncode == 1, kept.stderr
        assert "is running in another process" in kept.stderr
        assert "then delete it" in kept.stderr
    finally:
        runner.send_signal(signal.SIGKILL)  # a crash: the run never marks the thread idle
        runner.wait(timeout=30)
    done = lm(llm_server, data, project, "rewind", THREAD, "--to", "2", "--yes")
    assert done.returncode == 0, done.stderr  # its pid is gone: the mark is stale
    assert snapshot_files(project) == AFTER_TURN_1
