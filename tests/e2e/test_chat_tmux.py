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
from pathlib import Path

import pytest

from tests.support.llm_server import ScriptedLLM, Turn

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
    env = {**llm_server.env(), "LUMINAMIND_DATA_DIR": str(tmp_path / "data")}
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
