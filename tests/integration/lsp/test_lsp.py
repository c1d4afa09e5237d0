"""The language server through a real LSP client, the real agent and the scripted model."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams

from luminamind_lsp import COMMANDS
from tests.integration.lsp.conftest import StartClient, execute
from tests.support.llm_server import ScriptedLLM, Turn

SELECTION = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
FIXED = "def add(a, b):\n    return a + b\n"


async def test_initialize_advertises_commands_and_code_actions(start_client: StartClient) -> None:
    client = await start_client()
    result = client.init_result.capabilities  # type: ignore[attr-defined]
    assert result.execute_command_provider is not None
    assert set(result.execute_command_provider.commands) == set(COMMANDS)
    assert result.code_action_provider


async def test_ask_sends_the_selection_and_shows_a_short_answer(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("It subtracts where it should add.")])
    client = await start_client()
    uri = (project / "calc.py").as_uri()
    result = await execute(
        client, "luminamind.ask", {"prompt": "What is wrong?", "uri": uri, "range": SELECTION}
    )
    assert result["status"] == "completed"
    assert result["answer"] == "It subtracts where it should add."
    assert "return a - b" in llm_server.calls[0].last_user_text
    assert any("subtracts" in m.message for m in client.messages)
    reports = [r for rs in client.progress_reports.values() for r in rs]
    assert isinstance(reports[0], lsp.WorkDoneProgressBegin)
    assert isinstance(reports[-1], lsp.WorkDoneProgressEnd)


async def test_a_reasoning_model_reports_thinking_once_then_the_answer(
    start_client: StartClient, llm_server: ScriptedLLM
) -> None:
    thought = "The user wants to know what calc does. It adds, but subtracts."
    llm_server.script([Turn.text("It subtracts.", reasoning=thought)])
    client = await start_client()
    result = await execute(client, "luminamind.ask", {"prompt": "What does calc do?"})
    assert result["answer"] == "It subtracts."
    # object: pytest-lsp types the reports as ProgressParams; they are the progress values.
    reports: list[object] = [r for rs in client.progress_reports.values() for r in rs]
    messages = [r.message for r in reports if isinstance(r, lsp.WorkDoneProgressReport)]
    # One report for the whole stretch of thinking (not one per streamed chunk), then the answer.
    assert messages.count("thinking…") == 1
    assert messages.index("thinking…") < messages.index("writing the answer…")
    assert not any(thought[:20] in (m or "") for m in messages)


async def test_long_answers_open_a_markdown_document(
    start_client: StartClient, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("# Plan\n\n" + "A long explanation line.\n" * 30)])
    client = await start_client()
    result = await execute(client, "luminamind.runTask", {"prompt": "Explain the project"})
    assert result["document"].endswith(".md")
    assert client.shown_documents[-1].uri == result["document"]
    assert (
        Path(result["document"].removeprefix("file://")).read_text().count("long explanation") == 30
    )


async def test_edit_goes_through_the_refactor_preview_and_applied_is_success(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "calc.py", "content": FIXED})),
            Turn.text("Fixed the sign."),
        ]
    )
    client = await start_client("visual-studio-code")
    uri = (project / "calc.py").as_uri()
    result = await execute(client, "luminamind.edit", {"prompt": "Fix the bug", "uri": uri})
    assert result["status"] == "completed", result
    (edit,) = client.applied_edits  # type: ignore[attr-defined]
    annotations = edit.edit.change_annotations
    assert annotations is not None
    assert all(a.needs_confirmation for a in annotations.values())
    text_edits = [e for op in edit.edit.document_changes or [] for e in getattr(op, "edits", [])]
    assert any("a + b" in e.new_text for e in text_edits)
    # The editor applied it; the tool did not write the file a second time.
    assert (project / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
    assert "applied it" in str(llm_server.calls[-1].tool_results)


async def test_rejected_edit_is_reported_to_the_agent(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "calc.py", "content": FIXED})),
            Turn.text("Understood, leaving it."),
        ]
    )
    client = await start_client("visual-studio-code", on_apply=lambda _: False)
    uri = (project / "calc.py").as_uri()
    result = await execute(client, "luminamind.edit", {"prompt": "Fix the bug", "uri": uri})
    assert result["status"] == "completed"
    assert "rejected" in str(llm_server.calls[-1].tool_results)
    assert (project / "calc.py").read_text().endswith("a - b\n")


async def test_client_without_annotations_is_asked_first(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "calc.py", "content": FIXED})),
            Turn.text("Done."),
        ]
    )
    asked: list[str] = []

    def answer(params: lsp.ShowMessageRequestParams) -> str:
        asked.append(params.message)
        return "Apply"

    client = await start_client("neovim", on_request=answer)
    uri = (project / "calc.py").as_uri()
    result = await execute(client, "luminamind.edit", {"prompt": "Fix", "uri": uri})
    assert result["status"] == "completed"
    assert asked
    assert "calc.py" in asked[0]
    assert "(+1 −1 lines)" in asked[0]
    (edit,) = client.applied_edits  # type: ignore[attr-defined]
    assert not edit.edit.change_annotations


async def test_editor_that_cannot_ask_leaves_the_edit_to_the_approve_command(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [
            Turn.tool_calls(("write_file", {"path": "calc.py", "content": FIXED})),
            Turn.text("Done."),
        ]
    )

    def cannot_ask(params: lsp.ShowMessageRequestParams) -> str:
        raise RuntimeError("window/showMessageRequest is not supported")

    client = await start_client("neovim", on_request=cannot_ask)
    uri = (project / "calc.py").as_uri()
    pending = await execute(client, "luminamind.edit", {"prompt": "Fix", "uri": uri})
    assert pending["status"] == "awaiting_approval", pending
    assert pending["pending"][0]["tool"] == "write_file"
    assert not client.applied_edits  # type: ignore[attr-defined]
    done = await execute(client, "luminamind.approve", {"threadId": pending["threadId"]})
    assert done["status"] == "completed"
    assert (project / "calc.py").read_text() == FIXED


async def test_shell_approval_waits_for_the_approve_command(
    start_client: StartClient, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        [Turn.tool_calls(("shell", {"command": "ls"})), Turn.text("Listed the files.")]
    )
    client = await start_client()
    pending = await execute(client, "luminamind.runTask", {"prompt": "List files"})
    assert pending["status"] == "awaiting_approval"
    assert pending["pending"][0]["tool"] == "shell"
    done = await execute(client, "luminamind.approve", {"threadId": pending["threadId"]})
    assert done["status"] == "completed"
    assert "calc.py" in str(llm_server.calls[-1].tool_results)


async def test_requests_are_answered_while_a_run_works_and_cancel_stops_it(
    start_client: StartClient, llm_server: ScriptedLLM
) -> None:
    llm_server.script([Turn.text("too late", delay=20)])
    client = await start_client()
    run = asyncio.create_task(execute(client, "luminamind.runTask", {"prompt": "slow"}))
    await asyncio.to_thread(llm_server.wait_for_calls, 1, timeout=30)
    started = time.perf_counter()
    listing = await execute(client, "luminamind.threads", {})
    assert time.perf_counter() - started < 2
    assert listing["running"] == [listing["default"]]
    cancelled = await execute(client, "luminamind.cancel", {})
    assert cancelled["cancelled"] is True
    result = await asyncio.wait_for(run, 20)
    assert result["status"] == "cancelled"


@pytest.mark.parametrize(
    "argument",
    [42, {"prompt": "x", "bogus": 1}, {"prompt": ""}, {"prompt": "x", "range": {"start": 1}}],
)
async def test_malformed_params_are_errors_and_the_server_stays_up(
    start_client: StartClient, argument: object
) -> None:
    client = await start_client()
    with pytest.raises(JsonRpcInvalidParams, match=r"luminamind\.ask"):
        await execute(client, "luminamind.ask", argument)
    listing = await execute(client, "luminamind.threads", {})
    assert "threads" in listing


async def test_code_actions(start_client: StartClient, project: Path) -> None:
    client = await start_client()
    uri = (project / "calc.py").as_uri()
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(1, 0)),
            context=lsp.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    # lsprotocol's client-side converter reads these (title, kind, command) actions as
    # `Command`s: the `Command | CodeAction` union is ambiguous to it. Editors read the JSON.
    assert [a.title for a in actions] == ["Explain with LuminaMind", "Ask LuminaMind"]
    assert "luminamind.explain" in str(actions[0].command)
    assert "luminamind.ask" in str(actions[1].command)


async def test_an_edit_applied_in_the_editor_is_not_written_again_by_approve(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    # One approval batch: a file edit (settled in the editor) and a shell command (left to the
    # approve command). Approving the shell command must not run the applied write again.
    llm_server.script(
        [
            Turn.tool_calls(
                ("write_file", {"path": "calc.py", "content": FIXED}), ("shell", {"command": "ls"})
            ),
            Turn.text("Fixed and listed."),
        ]
    )
    client = await start_client("visual-studio-code")
    uri = (project / "calc.py").as_uri()
    pending = await execute(client, "luminamind.edit", {"prompt": "Fix the bug", "uri": uri})
    assert pending["status"] == "awaiting_approval", pending
    assert [p["tool"] for p in pending["pending"]] == ["shell"]
    assert len(client.applied_edits) == 1  # type: ignore[attr-defined]
    done = await execute(client, "luminamind.approve", {"threadId": pending["threadId"]})
    assert done["status"] == "completed", done
    results = str(llm_server.calls[-1].tool_results)
    assert "applied it" in results
    assert "calc.py" in results  # the approved shell command ran
    # The editor applied the edit in its buffer; the write tool did not write the file again.
    assert (project / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
