"""The rewind scenario every surface is tested with.

The workspace (not a git repository) holds ``edit.txt`` and ``gone.txt``. Turn 1 creates
``new.txt`` and edits ``edit.txt``; turn 2 deletes ``gone.txt`` and runs ``tee made.txt`` in the
shell, which writes a file. Rewinding to turn 2 leaves the files as turn 1 left them and the
conversation as of turn 1; rewinding to turn 1 leaves everything as before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from luminamind.config import Settings
from tests.support.llm_script import LLMRequest, Turn
from tests.support.llm_server import ScriptedLLM

__all__ = [
    "AFTER_TURN_1",
    "BEFORE",
    "MESSAGE_1",
    "MESSAGE_2",
    "MESSAGE_3",
    "auto_approve",
    "human_texts",
    "prepare_workspace",
    "script_two_turns",
    "snapshot_files",
]

MESSAGE_1 = "Create new.txt and update edit.txt"
MESSAGE_2 = "Remove gone.txt and save a note with tee"
MESSAGE_3 = "What did we do so far?"
BEFORE = {"edit.txt": "version 1\n", "gone.txt": "keep me\n"}
AFTER_TURN_1 = {"edit.txt": "version 2\n", "gone.txt": "keep me\n", "new.txt": "brand new\n"}
AFTER_TURN_2 = {"edit.txt": "version 2\n", "new.txt": "brand new\n", "made.txt": "from shell\n"}


def auto_approve(settings: Settings) -> Settings:
    """``settings`` with the scenario's tools approved in advance (no approval prompts)."""
    approvals = {"write_file": "auto", "delete_file": "auto", "shell": "auto"}
    return settings.model_copy(update={"approvals": approvals})


def prepare_workspace(workspace: Path) -> None:
    """The files before turn 1 (and no .git: rewind works without git)."""
    for name, text in BEFORE.items():
        (workspace / name).write_text(text)
    assert not (workspace / ".git").exists()


def script_two_turns(llm: ScriptedLLM, *, then: tuple[Turn, ...] = ()) -> None:
    """Script turn 1 and turn 2 (each: tool calls, then an answer), then ``then``."""
    llm.script(
        [
            Turn.tool_calls(
                ("write_file", {"path": "new.txt", "content": "brand new\n"}),
                ("write_file", {"path": "edit.txt", "content": "version 2\n"}),
            ),
            Turn.text("Turn one done."),
            Turn.tool_calls(
                ("delete_file", {"path": "gone.txt"}),
                ("shell", {"command": "tee made.txt", "stdin": "from shell\n"}),
            ),
            Turn.text("Turn two done."),
            *then,
        ]
    )


def snapshot_files(workspace: Path) -> dict[str, str]:
    """Every file of the workspace (top level) and its text."""
    return {p.name: p.read_text() for p in sorted(workspace.iterdir()) if p.is_file()}


def human_texts(request: LLMRequest) -> list[str]:
    """The user and assistant texts of a model request, in order (tool traffic left out)."""
    out: list[str] = []
    for message in request.messages:
        content: Any = message.get("content")
        if message.get("role") in {"user", "assistant"} and isinstance(content, str) and content:
            out.append(f"{message['role']}: {content}")
    return out
