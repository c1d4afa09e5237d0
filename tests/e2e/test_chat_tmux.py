"""`luminamind chat` in a real terminal (tmux): type, see the streamed answer, approve a diff."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.review_scenario import (
    FINAL_ANSWER,
    OLD,
    REASON,
    assert_kept_1_and_3,
    review_result,
    script_three_hunks,
)

BIN = Path(sys.executable).parent / "luminamind"
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 60.0, count: int = 1) -> str:
        """Wait until `text` is on screen `count` times (a prompt shown again counts anew)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared {count}x; screen:\n{self.screen()}")


@pytest.fixture
def chat_session(llm_server: ScriptedLLM, workspace_dir: Path, tmp_path: Path) -> Iterator[Tmux]:
    with chat_in_tmux(llm_server, workspace_dir, tmp_path) as tmux:
        yield tmux


@contextmanager
def chat_in_tmux(
    llm_server: ScriptedLLM,
    workspace_dir: Path,
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Tmux]:
    """`luminamind chat --thread c1` in a detached tmux session (killed on exit)."""
    env = {**llm_server.env(), "LUMINAMIND_DATA_DIR": str(tmp_path / "data"), **(extra_env or {})}
    env["LUMINAMIND_CACHE__BACKEND"] = "memory"
    env["LUMINAMIND_CONFIG_FILE"] = os.environ["LUMINAMIND_CONFIG_FILE"]
    script = tmp_path / "chat.sh"
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
    command = shlex.join([str(BIN), "--workspace", str(workspace_dir), "chat", "--thread", "c1"])
    script.write_text(f"#!/bin/sh\n{exports}\n{command}\necho CHAT-EXITED $?\nsleep 30\n")
    script.chmod(0o755)
    name = f"lm-chat-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "50", str(script)],
        check=True,
    )
    try:
        yield Tmux(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_chat_streams_and_approves_a_diff(
    chat_session: Tmux, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "hello.txt").write_text("old line\n")
    llm_server.script(
        [
            Turn.text("Hello from the scripted model!", chunk_delay=0.01),
            Turn.tool_calls(("write_file", {"path": "hello.txt", "content": "new line\n"})),
            Turn.text("The file now says new line."),
        ]
    )
    tmux = chat_session
    tmux.wait_for("thread c1")
    tmux.send("hi there", "Enter")
    tmux.wait_for("Hello from the scripted model!")
    # Type only once the prompt is back: keys typed earlier echo mid-answer.
    tmux.wait_for("you:", count=2)
    tmux.send("please change hello.txt", "Enter")
    screen = tmux.wait_for("[a]pprove")
    assert "Hello from the scripted model!\nyou: please change hello.txt" in screen, screen
    assert "-old line" in screen
    assert "+new line" in screen
    assert (workspace_dir / "hello.txt").read_text() == "old line\n"
    tmux.send("a", "Enter")
    screen = tmux.wait_for("The file now says new line.")
    assert "ok write_file" in screen
    assert (workspace_dir / "hello.txt").read_text() == "new line\n"
    tmux.send("/exit", "Enter")
    tmux.wait_for("CHAT-EXITED 0")
    llm_server.assert_done()


def test_chat_reviews_hunk_by_hunk_like_git_add_p(
    chat_session: Tmux, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    script_three_hunks(llm_server, workspace_dir)
    tmux = chat_session
    tmux.wait_for("thread c1")
    tmux.send("spell out the numbers", "Enter")
    screen = tmux.wait_for("(1/3) Apply this hunk to notes.txt [y,n,e,a,d,?]")
    assert "write_file proposes 3 hunks in notes.txt" in screen
    assert "+line two" in screen
    tmux.send("y", "Enter")
    screen = tmux.wait_for("(2/3) Apply this hunk")
    assert "+line twenty" in screen
    tmux.send("n", "Enter")
    tmux.wait_for("why?")
    tmux.send(REASON, "Enter")
    tmux.wait_for("(3/3) Apply this hunk")
    tmux.send("y", "Enter")
    tmux.wait_for(FINAL_ANSWER)
    assert_kept_1_and_3(llm_server, workspace_dir)
    tmux.send("/exit", "Enter")
    tmux.wait_for("CHAT-EXITED 0")


def test_chat_edits_a_hunk_in_the_editor_and_refuses_one_that_no_longer_applies(
    llm_server: ScriptedLLM, workspace_dir: Path, tmp_path: Path
) -> None:
    # First edit breaks a context line (refused, asked again); the second changes a + line.
    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        f"if [ ! -e {tmp_path}/edited-once ]; then touch {tmp_path}/edited-once;"
        " sed -i 's/^ line 17$/ line seventeen/' \"$1\"; exit 0; fi\n"
        "sed -i 's/^+line twenty$/+line 20 (edited)/' \"$1\"\n"
    )
    editor.chmod(0o755)
    script_three_hunks(llm_server, workspace_dir)
    with chat_in_tmux(llm_server, workspace_dir, tmp_path, {"EDITOR": str(editor)}) as tmux:
        tmux.wait_for("thread c1")
        tmux.send("spell out the numbers", "Enter")
        tmux.wait_for("(1/3) Apply this hunk")
        tmux.send("n", "Enter")
        tmux.wait_for("why?")
        tmux.send("Enter")
        tmux.wait_for("(2/3) Apply this hunk")
        tmux.send("e", "Enter")
        screen = tmux.wait_for("no longer applies")
        assert "the edited hunk 2 (notes.txt @@ -17,7 +17,7 @@)" in screen
        tmux.wait_for("(2/3) Apply this hunk", count=2)
        tmux.send("e", "Enter")
        tmux.wait_for("(3/3) Apply this hunk")
        tmux.send("a", "Enter")
        tmux.wait_for(FINAL_ANSWER)
    assert (workspace_dir / "notes.txt").read_text() == OLD.replace(
        "line 20\n", "line 20 (edited)\n"
    ).replace("line 38\n", "line thirty-eight\n")
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["edited"], report["rejected"]) == ([3], [2], [1])


def test_chat_rewind_goes_back_to_before_a_turn(
    llm_server: ScriptedLLM, workspace_dir: Path, tmp_path: Path
) -> None:
    from tests.support.rewind_scenario import (
        AFTER_TURN_1,
        AFTER_TURN_2,
        MESSAGE_1,
        MESSAGE_2,
        prepare_workspace,
        script_two_turns,
        snapshot_files,
    )

    prepare_workspace(workspace_dir)
    script_two_turns(llm_server)
    auto = {f"LUMINAMIND_APPROVALS__{t.upper()}": "auto" for t in ("write_file", "delete_file")}
    with chat_in_tmux(
        llm_server,
        workspace_dir,
        tmp_path,
        extra_env={**auto, "LUMINAMIND_APPROVALS__SHELL": "auto"},
    ) as tmux:
        tmux.wait_for("thread c1")
        tmux.send(MESSAGE_1, "Enter")
        tmux.wait_for("Turn one done.")
        tmux.wait_for("you:", count=2)
        tmux.send(MESSAGE_2, "Enter")
        tmux.wait_for("Turn two done.")
        tmux.wait_for("you:", count=3)
        assert snapshot_files(workspace_dir) == AFTER_TURN_2
        tmux.send("/rewind 2", "Enter")
        screen = tmux.wait_for("Rewind? [y/N]")
        assert "restore gone.txt (write)" in screen
        assert "restore made.txt (delete)" in screen
        tmux.send("y", "Enter")
        tmux.wait_for("Its message was:")
        assert snapshot_files(workspace_dir) == AFTER_TURN_1
        tmux.send("/exit", "Enter")
        tmux.wait_for("CHAT-EXITED 0")
