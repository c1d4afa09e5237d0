"""LuminaMind in a real VS Code: code-server with the extension installed from its .vsix, driven in
headless chromium against the scripted model (tests/e2e/vscode/agent_flow.js has the steps).

Needs what `make vscode-e2e` installs (code-server, Node 24, puppeteer-core) and `make vsix`
builds, plus Debian's chromium; without them the test skips and says why. Screenshots of every
step go to a folder the failure message names; with LUMINAMIND_VSCODE_SHOTS=DIR they are also
copied there (how the extension README's screenshots are made).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.llm_script import LLMRequest, Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.vscode import (
    E2E_DIR,
    LUMINAMIND,
    CodeServer,
    run_scenario,
    unavailable_reason,
)

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).parent / "vscode" / "agent_flow.js"


def _step(word: str) -> Callable[[LLMRequest], bool]:
    def matches(request: LLMRequest) -> bool:
        return word in request.last_user_text

    return matches


def _fresh_run(name: str) -> tuple[Path, Path]:
    """The run folder ``work/<name>`` emptied, and its workspace; skips without a real VS Code.

    Outside pytest's temporary folders (other runs rotate those away): the last run's
    screenshots and logs stay until the next run.
    """
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"NO REAL VS CODE HERE, the VS Code end-to-end test did not run: {reason}")
    run = E2E_DIR / "work" / name
    shutil.rmtree(run, ignore_errors=True)
    workspace = run / "workspace"
    workspace.mkdir(parents=True)
    return run, workspace


def _agent_env(llm: ScriptedLLM, tmp_path: Path) -> dict[str, str]:
    """code-server's environment: the extension's server talks to the scripted model."""
    return {
        **os.environ,
        **llm.env(),
        "LUMINAMIND_DATA_DIR": str(tmp_path / "luminamind-data"),
        "LUMINAMIND_CACHE__BACKEND": "memory",
    }


def _writes(llm: ScriptedLLM, path: str, content: str, answer: str, *, step: str) -> None:
    """At the prompt carrying ``step``: a write_file of ``content`` to ``path``, then ``answer``."""
    llm.script(
        [Turn.tool_calls(("write_file", {"path": path, "content": content})), Turn.text(answer)],
        when=_step(step),
    )


def _script(llm: ScriptedLLM) -> None:
    llm.script([Turn.text("hello.py prints a greeting.")], when=_step("STEP-ASK"))
    greeting = 'print("hello, world")\n'
    _writes(llm, "hello.py", greeting, "Changed the greeting.", step="STEP-EDIT-APPLY")
    _writes(llm, "hello.py", 'print("goodbye")\n', "Left it as it was.", step="STEP-EDIT-DISCARD")
    llm.script([Turn.text("too late", delay=60)], when=_step("STEP-SLOW"))
    llm.script(
        [Turn.tool_calls(("shell", {"command": "ls"})), Turn.text("Listed the files.")],
        when=_step("STEP-SHELL-APPROVE"),
    )
    llm.script(
        [
            Turn.tool_calls(("shell", {"command": "rm -rf build"})),
            Turn.text("Understood, I will not clean it."),
        ],
        when=_step("STEP-SHELL-REJECT"),
    )
    llm.script(
        [
            Turn.tool_calls(
                (
                    "write_todos",
                    {
                        "todos": [
                            {"content": "Read hello.py", "status": "completed"},
                            {"content": "Answer in Markdown", "status": "in_progress"},
                        ]
                    },
                )
            ),
            Turn.text("Here is **Markdown** in the view."),
        ],
        when=_step("STEP-VIEW"),
    )
    # Explain Selection sends no words of the user's: the one request no route takes.
    llm.script([Turn.text("It prints the word hello.")])


def test_a_new_user_in_vscode(tmp_path: Path, llm_server: ScriptedLLM) -> None:
    run, workspace = _fresh_run("agent-flow")
    (workspace / "hello.py").write_text('print("hello")\n')
    _script(llm_server)
    shots = run / "screenshots"
    env = _agent_env(llm_server, tmp_path)
    with CodeServer(run / "code-server", workspace, env=env) as server:
        result = run_scenario(SCENARIO, server, shots=shots)
    keep = os.environ.get("LUMINAMIND_VSCODE_SHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    assert result.passed, (
        f"the VS Code scenario failed; screenshots of each step: {shots}\n"
        f"code-server log: {server.log}\n{result.output[-8000:]}"
    )
    # What the agent was told, as the model saw it.
    applied = [c for c in llm_server.calls if "STEP-EDIT-APPLY" in c.last_user_text]
    assert "applied it" in str(applied[-1].tool_results)
    discarded = [c for c in llm_server.calls if "STEP-EDIT-DISCARD" in c.last_user_text]
    assert "discarded the change to hello.py" in str(discarded[-1].tool_results)
    rejected = [c for c in llm_server.calls if "STEP-SHELL-REJECT" in c.last_user_text]
    assert "not now" in str(rejected[-1].tool_results)
    assert (workspace / "hello.py").read_text() == 'print("hello, world")\n'


def test_what_a_user_sees_when_the_server_cannot_run(tmp_path: Path) -> None:
    run, workspace = _fresh_run("bad-input")
    (workspace / "hello.py").write_text('print("hello")\n')
    exiting = run / "exiting-server.sh"
    exiting.write_text('#!/bin/sh\necho "luminamind: no model for you" >&2\nexit 3\n')
    misconfigured = run / "misconfigured-server.sh"
    misconfigured.write_text(
        f'#!/bin/sh\nLUMINAMIND_MODEL__MAX_RETRIES=lots exec "{LUMINAMIND}" "$@"\n'
    )
    for script in (exiting, misconfigured):
        script.chmod(0o755)
    env = {**os.environ, "LUMINAMIND_DATA_DIR": str(tmp_path / "luminamind-data")}
    with CodeServer(
        run / "code-server",
        workspace,
        env=env,
        server_path=Path("/nonexistent/luminamind"),
    ) as server:
        result = run_scenario(
            SCENARIO.parent / "bad_input.js",
            server,
            shots=run / "screenshots",
            env={
                "SETTINGS_FILE": str(server.data / "User" / "settings.json"),
                "EXITING_SERVER": str(exiting),
                "MISCONFIGURED_SERVER": str(misconfigured),
            },
        )
    assert result.passed, (
        f"the VS Code bad-input scenario failed; screenshots: {run / 'screenshots'}\n"
        f"code-server log: {server.log}\n{result.output[-8000:]}"
    )


THOUGHT_MARK = "SECRET-THOUGHT"
INJECTION = "<img src=x onerror=\"document.title='pwned'\">"
SUB_THOUGHT_MARK = "SUBAGENT-THOUGHT"


def test_the_agent_view_shows_the_model_thinking(tmp_path: Path, llm_server: ScriptedLLM) -> None:
    """A reasoning model (as GLM-4.5 streams ``reasoning_content``): its thinking in a Thinking
    block per model turn, apart from the answer, escaped, bounded, and labelled by agent."""
    run, workspace = _fresh_run("agent-thinking")
    (workspace / "hello.py").write_text('print("hello")\n')
    thought = f"{THOUGHT_MARK}: the user wants a sum. {INJECTION} Six and thirty-six make 42."
    llm_server.script(
        [Turn.text("The sum is 42.", reasoning=thought, chunk_delay=0.3)], when=_step("STEP-THINK")
    )
    # 30,000 characters in 100-character words: far more than a Thinking block keeps.
    long_thought = ("x" * 99 + " ") * 300 + "END-OF-THOUGHT"
    llm_server.script(
        [Turn.text("Done thinking.", reasoning=long_thought)], when=_step("STEP-LONG")
    )
    task = {"description": "SUBTASK-THINK count the files", "subagent_type": "code-executor"}
    llm_server.script(
        [Turn.tool_calls(("task", task)), Turn.text("The helper counted them.")],
        when=_step("STEP-SUB"),
    )
    sub_thought = f"{SUB_THOUGHT_MARK}: I will count the files in the folder, one by one."
    llm_server.script(
        [Turn.text("Counted 1 file.", reasoning=sub_thought, chunk_delay=0.4)],
        when=_step("SUBTASK-THINK"),
    )
    shots = run / "screenshots"
    env = _agent_env(llm_server, tmp_path)
    with CodeServer(run / "code-server", workspace, env=env) as server:
        result = run_scenario(
            SCENARIO.parent / "agent_thinking.js",
            server,
            shots=shots,
            env={
                "THOUGHT_MARK": THOUGHT_MARK,
                "INJECTION": INJECTION,
                "SUB_THOUGHT_MARK": SUB_THOUGHT_MARK,
            },
        )
    assert result.passed, (
        f"the VS Code thinking scenario failed; screenshots of each step: {shots}\n"
        f"code-server log: {server.log}\n{result.output[-8000:]}"
    )
    # The model never saw its own reasoning again (it is shown, not sent back).
    later = [c for c in llm_server.calls if "STEP-LONG" in c.last_user_text]
    assert THOUGHT_MARK not in json.dumps(later[0].messages)


def _numbered(count: int, **spelled: str) -> str:
    return "".join(f"{spelled.get(f'n{n}', f'line {n}')}\n" for n in range(1, count + 1))


def test_reverting_a_hunk_in_the_diff_tab(tmp_path: Path, llm_server: ScriptedLLM) -> None:
    """Two hunks proposed; the user reverts one in VS Code's diff editor and accepts the rest;
    then a proposal rejected from the diff's title bar, and one typed over before Accept."""
    run, workspace = _fresh_run("hunk-review")
    notes = workspace / "notes.txt"
    notes.write_text(_numbered(20))
    two_hunks = _numbered(20, n2="line two", n18="line eighteen")
    _writes(llm_server, "notes.txt", two_hunks, "Kept what you kept.", step="STEP-TWO-HUNKS")
    to_reject = _numbered(20, n3="three", n19="nineteen")
    _writes(llm_server, "notes.txt", to_reject, "Left notes.txt alone.", step="STEP-REJECT-HUNKS")
    to_type_over = _numbered(20, n2="line two", n10="line ten")
    _writes(llm_server, "notes.txt", to_type_over, "Took your wording.", step="STEP-TYPE-HUNK")
    shots = run / "screenshots"
    env = _agent_env(llm_server, tmp_path)
    with CodeServer(run / "code-server", workspace, env=env) as server:
        result = run_scenario(SCENARIO.parent / "hunk_review.js", server, shots=shots)
    assert result.passed, (
        f"the VS Code hunk review scenario failed; screenshots of each step: {shots}\n"
        f"code-server log: {server.log}\n{result.output[-8000:]}"
    )
    # On disk (saved by the user): exactly the kept hunk (the typed change is left unsaved).
    assert notes.read_text() == _numbered(20, n2="line two")
    # What the agent was told: the server's review report, as the model read it.
    answered = [c for c in llm_server.calls if "STEP-TWO-HUNKS" in c.last_user_text]
    report = json.loads(answered[-1].tool_results[-1])
    assert report["status"] == "partially_applied", report
    assert (report["applied"], report["rejected"], report["edited"]) == ([1], [2], []), report
    rejected = [h for h in report["hunks"] if h["status"] == "rejected"]
    assert "line eighteen" in rejected[0]["diff"]
    turned_down = [c for c in llm_server.calls if "STEP-REJECT-HUNKS" in c.last_user_text]
    assert "discarded the change to notes.txt" in turned_down[-1].tool_results[-1]
    # A hunk typed over in the proposal side: reported as edited, with the user's text.
    typed = [c for c in llm_server.calls if "STEP-TYPE-HUNK" in c.last_user_text]
    edited = json.loads(typed[-1].tool_results[-1])
    assert (edited["applied"], edited["rejected"], edited["edited"]) == ([], [], [1]), edited
    assert "line ten (typed)\n" in edited["hunks"][0]["text"]
