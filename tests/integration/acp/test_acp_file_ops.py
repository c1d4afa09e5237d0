"""copy_file and delete_file in an editor that offers ``fs/*``.

ACP has whole-text reads and writes only: a plain text file is copied through the editor (the
source's buffer, unsaved edits included, becomes the destination's); what text cannot carry
(binary, executable files) is copied on disk; a deletion is always on disk (no ACP method).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import text_block

from tests.support.acp_editor import EditorClient, start_agent
from tests.support.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.slow


async def test_a_text_copy_goes_through_the_editor_and_a_delete_to_disk(
    workspace_dir: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    ws = workspace_dir
    (ws / "hello.txt").write_text("hello\nworld\n", encoding="utf-8")
    (ws / "run.sh").write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    (ws / "run.sh").chmod(0o755)
    (ws / "blob.bin").write_bytes(b"\x00\xff\x00binary")
    (ws / "old.txt").write_text("bye\n", encoding="utf-8")
    llm_server.script(
        [
            Turn.tool_calls(("copy_file", {"source": "hello.txt", "destination": "copy.txt"})),
            Turn.tool_calls(("copy_file", {"source": "run.sh", "destination": "run2.sh"})),
            Turn.tool_calls(("copy_file", {"source": "blob.bin", "destination": "blob2.bin"})),
            Turn.tool_calls(("delete_file", {"path": "old.txt"})),
            Turn.text("Copied and deleted."),
        ]
    )
    client = EditorClient(answer="allow_once", buffers={str(ws / "hello.txt"): "hello\nunsaved\n"})
    async with start_agent(ws, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(ws))
        result = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("Copy and clean up")]
        )
    assert result.stop_reason == "end_turn"
    # The text copy: the editor's buffer (unsaved edit) written through fs/write_text_file.
    assert client.writes == [(str(ws / "copy.txt"), "hello\nunsaved\n")]
    assert not (ws / "copy.txt").exists()
    # What text cannot carry is copied on disk, mode and bytes kept.
    assert (ws / "run2.sh").stat().st_mode & 0o777 == 0o755
    assert (ws / "blob2.bin").read_bytes() == b"\x00\xff\x00binary"
    # Deleting has no ACP method: on disk, after the user allowed it.
    assert not (ws / "old.txt").exists()
    assert [p.title for p in client.permissions if "old.txt" in str(p)]
    results = [call.tool_results[-1] for call in llm_server.calls[1:5]]
    assert all("Error" not in r for r in results), results


async def test_an_editor_that_refuses_the_copy_leaves_the_disk_alone(
    workspace_dir: Path, home: Path, llm_server: ScriptedLLM
) -> None:
    (workspace_dir / "hello.txt").write_text("hello\n", encoding="utf-8")
    llm_server.script(
        [
            Turn.tool_calls(("copy_file", {"source": "hello.txt", "destination": "copy.txt"})),
            Turn.text("The editor refused."),
        ]
    )
    client = EditorClient(fail_writes=True)
    async with start_agent(workspace_dir, home, client, env=llm_server.env()) as agent:
        session = await agent.conn.new_session(cwd=str(workspace_dir))
        await agent.conn.prompt(session_id=session.session_id, prompt=[text_block("Copy")])
    assert "Error" in llm_server.calls[1].tool_results[-1]
    assert not (workspace_dir / "copy.txt").exists()
