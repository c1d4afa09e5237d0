"""``luminamind.rewind`` through a real LSP client (pytest-lsp) and ``luminamind lsp``.

The rewind scenario's two turns run first (threads are shared by every surface: an in-process
AgentService on the language server's data dir); the restore then arrives as a WorkspaceEdit
whose every edit needs confirmation, and the thread goes back to turn 1.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from luminamind.agent.events import FinalAnswer
from luminamind.agent.service import AgentService
from luminamind.config import load_settings
from tests.integration.lsp.conftest import StartClient, execute
from tests.support.fixtures import scripted_settings
from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.rewind_scenario import (
    AFTER_TURN_1,
    AFTER_TURN_2,
    BEFORE,
    MESSAGE_1,
    MESSAGE_2,
    MESSAGE_3,
    auto_approve,
    human_texts,
    prepare_workspace,
    script_two_turns,
    snapshot_files,
)

pytestmark = pytest.mark.slow

THREAD = "lsp-rewind"


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    prepare_workspace(workspace_dir)
    return workspace_dir


async def two_turns(project: Path, data_dir: Path, llm: ScriptedLLM) -> None:
    settings = load_settings(workspace=project, data_dir=data_dir, cache={"backend": "memory"})
    settings = auto_approve(scripted_settings(settings, llm))
    async with AgentService.open(settings, surface="cli") as service:
        for message in (MESSAGE_1, MESSAGE_2):
            events = [e async for e in service.stream(THREAD, message)]
            assert isinstance(events[-1], FinalAnswer), events
    assert snapshot_files(project) == AFTER_TURN_2


async def test_the_restore_arrives_needing_confirmation_and_the_thread_goes_back(
    start_client: StartClient, project: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    script_two_turns(llm_server, then=(Turn.text("We made new.txt."),))
    await two_turns(project, tmp_path / "lsp-data", llm_server)
    answers = iter([False, True])
    client = await start_client(on_apply=lambda params: next(answers))

    declined = await execute(client, "luminamind.rewind", {"threadId": THREAD, "turn": 2})
    assert declined["status"] == "declined"
    assert snapshot_files(project) == AFTER_TURN_2

    done = await execute(client, "luminamind.rewind", {"threadId": THREAD, "turn": 2})
    assert done["status"] == "rewound", done
    edit = client.applied_edits[-1].edit  # type: ignore[attr-defined]
    assert edit.change_annotations is not None
    (annotation,) = edit.change_annotations.values()
    assert annotation.needs_confirmation is True
    operations = edit.document_changes or []
    kinds = {type(op).__name__: op for op in operations}
    assert set(kinds) == {"CreateFile", "TextDocumentEdit", "DeleteFile"}
    created = kinds["CreateFile"]
    assert isinstance(created, lsp.CreateFile)
    assert created.uri.endswith("/gone.txt")
    assert created.annotation_id is not None
    deleted = kinds["DeleteFile"]
    assert isinstance(deleted, lsp.DeleteFile)
    assert deleted.uri.endswith("/made.txt")
    assert deleted.annotation_id is not None
    restored = kinds["TextDocumentEdit"]
    assert isinstance(restored, lsp.TextDocumentEdit)
    assert restored.text_document.uri.endswith("/gone.txt")
    assert all(getattr(e, "annotation_id", None) for e in restored.edits)
    assert snapshot_files(project) == AFTER_TURN_1

    answer = await execute(client, "luminamind.runTask", {"prompt": MESSAGE_3, "threadId": THREAD})
    assert answer["status"] == "completed", answer
    assert human_texts(llm_server.calls[-1]) == [
        f"user: {MESSAGE_1}",
        "assistant: Turn one done.",
        f"user: {MESSAGE_3}",
    ]


async def test_conflicts_are_shown_and_left_and_bad_input_is_an_error(
    start_client: StartClient, project: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    script_two_turns(llm_server)
    await two_turns(project, tmp_path / "lsp-data", llm_server)
    client = await start_client()
    with pytest.raises(JsonRpcException, match="has no turn 9"):
        await execute(client, "luminamind.rewind", {"threadId": THREAD, "turn": 9})
    with pytest.raises(JsonRpcInvalidParams):
        await execute(client, "luminamind.rewind", {"threadId": THREAD, "turn": "two"})
    with pytest.raises(JsonRpcException, match="no thread 'nope'"):
        await execute(client, "luminamind.rewind", {"threadId": "nope"})

    (project / "new.txt").write_text("the user's own\n")
    done = await execute(client, "luminamind.rewind", {"threadId": THREAD, "turn": 1})
    assert done["status"] == "rewound", done
    assert any("new.txt: changed after the agent's edit" in m.message for m in client.messages), (
        client.messages
    )
    uris = [
        getattr(op, "uri", None) or op.text_document.uri
        for op in client.applied_edits[-1].edit.document_changes  # type: ignore[attr-defined]
    ]
    assert not any(u.endswith("/new.txt") for u in uris)
    assert snapshot_files(project) == {
        "edit.txt": "version 1\n",
        "gone.txt": "keep me\n",
        "new.txt": "the user's own\n",
    }


def save_applied(edit: lsp.WorkspaceEdit) -> None:
    """What an editor does with an applied WorkspaceEdit once the user saves: the files change."""
    for op in edit.document_changes or []:
        if isinstance(op, lsp.CreateFile):
            Path(unquote(urlparse(op.uri).path)).touch()
        elif isinstance(op, lsp.DeleteFile):
            Path(unquote(urlparse(op.uri).path)).unlink(missing_ok=True)
        elif isinstance(op, lsp.TextDocumentEdit):
            path = Path(unquote(urlparse(op.text_document.uri).path))
            text = path.read_text()
            lines = text.splitlines(keepends=True)

            def offset(position: lsp.Position, lines: list[str] = lines) -> int:
                return sum(len(line) for line in lines[: position.line]) + position.character

            for e in sorted(op.edits, key=lambda e: offset(e.range.start), reverse=True):
                assert isinstance(e, lsp.TextEdit | lsp.AnnotatedTextEdit)
                text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
            path.write_text(text)


async def test_an_edit_the_editor_applied_is_rewound(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    """The agent proposes, the user applies it in the refactor preview and saves, rewind undoes."""
    llm_server.script(
        [
            Turn.tool_calls(
                ("write_file", {"path": "new.txt", "content": "brand new\n"}),
                ("write_file", {"path": "edit.txt", "content": "version 2\n"}),
            ),
            Turn.text("Turn one done."),
        ]
    )

    def apply(params: lsp.ApplyWorkspaceEditParams) -> bool:
        if (params.label or "").startswith("LuminaMind: write_file"):
            save_applied(params.edit)  # the agent's proposal; the restore is left to the server
        return True

    client = await start_client(on_apply=apply)
    answer = await execute(client, "luminamind.runTask", {"prompt": MESSAGE_1, "threadId": THREAD})
    assert answer["status"] == "completed", answer
    proposals = client.applied_edits  # type: ignore[attr-defined]
    assert [p.label for p in proposals] == [
        "LuminaMind: write_file new.txt",
        "LuminaMind: write_file edit.txt",
    ]
    assert snapshot_files(project) == AFTER_TURN_1  # the editor made the change, not the server

    done = await execute(client, "luminamind.rewind", {"threadId": THREAD, "turn": 1})
    assert done["status"] == "rewound", done
    restore = client.applied_edits[-1].edit  # type: ignore[attr-defined]
    uris = {getattr(op, "uri", None) or op.text_document.uri for op in restore.document_changes}
    assert {Path(urlparse(u).path).name for u in uris} == {"new.txt", "edit.txt"}
    assert snapshot_files(project) == BEFORE
