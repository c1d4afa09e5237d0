"""``additionalDirectories``: advertised, and each listed folder is a workspace root of the session.

The tools reach files there (read and write) exactly as in ``cwd``; a folder not listed stays
outside; a listed path that is not an absolute directory is a -32602 and the agent keeps serving.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import RequestError, text_block

from tests.support.acp_editor import EditorClient, start_agent
from tests.support.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.slow


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    shared = (tmp_path / "shared").resolve()
    shared.mkdir()
    (shared / "notes.md").write_text("shared notes\n", encoding="utf-8")
    return shared


async def test_listed_folders_are_roots_and_others_stay_outside(
    workspace_dir: Path, home: Path, shared: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    elsewhere = (tmp_path / "elsewhere").resolve()
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("no\n", encoding="utf-8")
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": str(shared / "notes.md")})),
            Turn.tool_calls(("read_file", {"path": str(elsewhere / "secret.txt")})),
            Turn.tool_calls(("write_file", {"path": str(shared / "new.md"), "content": "x\n"})),
            Turn.text("Done."),
        ]
    )
    client = EditorClient(answer="allow_once")
    async with start_agent(workspace_dir, home, client, env=llm_server.env(), fs=False) as agent:
        caps = (await agent.conn.initialize(protocol_version=1)).agent_capabilities
        assert caps is not None
        assert caps.session_capabilities is not None
        assert caps.session_capabilities.additional_directories is not None
        session = await agent.conn.new_session(
            cwd=str(workspace_dir), additional_directories=[str(shared)]
        )
        result = await agent.conn.prompt(
            session_id=session.session_id, prompt=[text_block("Use the shared notes")]
        )
    assert result.stop_reason == "end_turn"
    read, refused, wrote = (call.tool_results[-1] for call in llm_server.calls[1:4])
    assert "shared notes" in read
    assert "path_escape" in refused or "outside" in refused
    assert "no\n" not in refused
    assert "error" not in wrote.lower()[:20]
    assert (shared / "new.md").read_text() == "x\n"


async def test_a_bad_additional_directory_is_invalid_params(
    workspace_dir: Path, home: Path, shared: Path, llm_server: ScriptedLLM
) -> None:
    async with start_agent(workspace_dir, home, EditorClient(), env=llm_server.env()) as agent:
        for bad in ("relative/dir", str(shared / "notes.md"), str(shared / "missing")):
            with pytest.raises(RequestError, match="additional directory") as caught:
                await agent.conn.new_session(
                    cwd=str(workspace_dir), additional_directories=[str(shared), bad]
                )
            assert caught.value.code == -32602
        session = await agent.conn.new_session(cwd=str(workspace_dir))  # still serving
        assert session.session_id
