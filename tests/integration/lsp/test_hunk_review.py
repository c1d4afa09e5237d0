"""Hunk-by-hunk review through `luminamind lsp` with a real LSP client (pytest-lsp).

The client holds notes.txt open as a buffer and applies the server's workspace edits to it the
way an editor does (then sends didChange). The three-hunk scenario, three ways:
VS Code's refactor preview (one annotation per hunk; the user unticks hunk 2), an editor that
is asked per hunk with window/showMessageRequest (Helix), and the Neovim plugin's
``luminamind/reviewHunks`` request. Each time the buffer holds hunks 1 and 3 only, nothing is
written to disk, and the model's next request names hunk 2 as rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.integration.lsp.conftest import StartClient, execute
from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.review_scenario import (
    KEPT,
    OLD,
    REASON,
    assert_kept_1_and_3,
    review_result,
    script_three_hunks,
)


class Buffer:
    """notes.txt as the client's open buffer: edits applied in place, didChange sent."""

    def __init__(self, client: LanguageClient, path: Path) -> None:
        self.client = client
        self.uri = path.as_uri()
        self.text = path.read_text()
        self.version = 1
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(
                    uri=self.uri, language_id="plaintext", version=1, text=self.text
                )
            )
        )

    def apply(self, edit: lsp.WorkspaceEdit, *, skip: frozenset[str] = frozenset()) -> None:
        """Apply the text edits (except those annotated with an id in ``skip``)."""
        edits = [
            e
            for op in edit.document_changes or []
            if isinstance(op, lsp.TextDocumentEdit) and op.text_document.uri == self.uri
            for e in op.edits
            # The server sends no snippet edits; one skipped here would fail the text check.
            if isinstance(e, lsp.TextEdit | lsp.AnnotatedTextEdit)
            and getattr(e, "annotation_id", None) not in skip
        ]
        lines = self.text.splitlines(keepends=True)

        def offset(position: lsp.Position) -> int:
            return sum(len(line) for line in lines[: position.line]) + position.character

        text = self.text
        for e in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
            text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
        if text == self.text:
            return
        self.text = text
        self.version += 1
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )


async def run_edit(client: LanguageClient, project: Path) -> dict[str, Any]:  # Any: JSON
    uri = (project / "notes.txt").as_uri()
    result: dict[str, Any] = await execute(
        client, "luminamind.edit", {"prompt": "Spell out the numbers", "uri": uri}
    )
    assert result["status"] == "completed", result
    return result


OnApply = Callable[[Buffer, lsp.ApplyWorkspaceEditParams], None]
HUNK_2 = frozenset({"luminamind.hunk.2"})


def apply_all(buffer: Buffer, params: lsp.ApplyWorkspaceEditParams) -> None:
    buffer.apply(params.edit)


def untick_hunk_2(buffer: Buffer, params: lsp.ApplyWorkspaceEditParams) -> None:
    buffer.apply(params.edit, skip=HUNK_2)


async def start_with_buffer(
    start_client: StartClient,
    project: Path,
    editor: str,
    on_apply: OnApply = apply_all,
    **handlers: Any,  # Any: start_client's other answering callbacks
) -> tuple[LanguageClient, Buffer]:
    """A client of ``editor`` holding notes.txt open; ``on_apply`` applies edits to the buffer."""
    holder: list[Buffer] = []

    def apply(params: lsp.ApplyWorkspaceEditParams) -> bool:
        on_apply(holder[0], params)
        return True

    client = await start_client(editor, on_apply=apply, **handlers)
    holder.append(Buffer(client, project / "notes.txt"))
    return client, holder[0]


async def test_refactor_preview_with_hunk_2_unticked_keeps_1_and_3(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, project)
    client, buffer = await start_with_buffer(
        start_client, project, "visual-studio-code", untick_hunk_2
    )
    await run_edit(client, project)
    (edit,) = client.applied_edits  # type: ignore[attr-defined]
    annotations = edit.edit.change_annotations or {}
    assert sorted(annotations) == [f"luminamind.hunk.{i}" for i in (1, 2, 3)]
    assert all(a.needs_confirmation for a in annotations.values())
    assert annotations["luminamind.hunk.2"].label.startswith("Hunk 2: notes.txt @@")
    assert_kept_1_and_3(llm_server, None, reason=None, text=buffer.text)
    assert (project / "notes.txt").read_text() == OLD, "the editor applies; the server never writes"
    assert "editor" in str(review_result(llm_server.calls[-1])["note"])


async def test_a_hunk_changed_in_the_preview_is_reported_with_its_text(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, project)

    def apply_then_change(buffer: Buffer, params: lsp.ApplyWorkspaceEditParams) -> None:
        buffer.apply(params.edit)
        buffer.apply(_whole(buffer, buffer.text.replace("line twenty\n", "line 20 (twenty)\n")))

    client, _ = await start_with_buffer(
        start_client, project, "visual-studio-code", apply_then_change
    )
    await run_edit(client, project)
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["edited"], report["rejected"]) == ([1, 3], [2], [])
    (edited,) = [h for h in report["hunks"] if h["hunk"] == 2]  # type: ignore[attr-defined]
    assert "line 20 (twenty)\n" in edited["text"]


async def save_and_rewind(client: LanguageClient, buffer: Buffer, thread_id: str) -> None:
    """The user saves the reviewed buffer, then rewinds the turn: the file is as before."""
    path = Path(urlparse(buffer.uri).path)
    path.write_text(buffer.text)
    assert path.read_text() == KEPT
    done = await execute(client, "luminamind.rewind", {"threadId": thread_id})
    assert done["status"] == "rewound", done
    assert path.read_text() == OLD


async def test_kept_hunks_the_editor_applied_are_rewound(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    """Refactor preview with hunk 2 unticked: what the buffer kept is recorded for rewind."""
    script_three_hunks(llm_server, project)
    client, buffer = await start_with_buffer(
        start_client, project, "visual-studio-code", untick_hunk_2
    )
    result = await run_edit(client, project)
    await save_and_rewind(client, buffer, result["threadId"])


async def test_helix_is_asked_per_hunk_and_gets_the_kept_hunks(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, project)
    asked: list[lsp.ShowMessageRequestParams] = []
    answers = iter(["Accept", "Reject", "Accept"])

    def answer(params: lsp.ShowMessageRequestParams) -> str:
        asked.append(params)
        return next(answers)

    def apply(buffer: Buffer, params: lsp.ApplyWorkspaceEditParams) -> None:
        assert not params.edit.change_annotations
        buffer.apply(params.edit)

    # Neovim's capabilities stand in for Helix's: no change annotations, showMessageRequest.
    client, buffer = await start_with_buffer(
        start_client, project, "neovim", apply, on_request=answer
    )
    result = await run_edit(client, project)
    assert [a.message.split(" (")[0] for a in asked] == [
        f"LuminaMind write_file: hunk {i}/3 in notes.txt {h}"
        for i, h in ((1, "@@ -1,5 +1,5 @@"), (2, "@@ -17,7 +17,7 @@"), (3, "@@ -35,6 +35,6 @@"))
    ]
    assert "+line twenty" in asked[1].message
    assert [a.title for a in asked[0].actions or []] == [
        "Accept",
        "Reject",
        "Accept the rest",
        "Reject the rest",
    ]
    assert_kept_1_and_3(llm_server, None, reason=None, text=buffer.text)
    await save_and_rewind(client, buffer, result["threadId"])


async def test_the_neovim_plugin_request_carries_decisions_and_reasons(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, project)
    shown: list[Any] = []

    def review(params: Any) -> Any:  # Any: JSON
        shown.append(params)
        return {
            "decisions": [
                {"hunk": 1, "action": "accept"},
                {"hunk": 2, "action": "reject", "reason": REASON},
                {"hunk": 3, "action": "accept"},
            ]
        }

    client, buffer = await start_with_buffer(start_client, project, "neovim", on_review=review)
    await run_edit(client, project)
    hunks = shown[0].hunks if hasattr(shown[0], "hunks") else shown[0]["hunks"]
    assert len(hunks) == 3
    assert_kept_1_and_3(llm_server, None, text=buffer.text)


async def test_an_edited_hunk_that_no_longer_applies_changes_nothing(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    script_three_hunks(llm_server, project)

    def review(params: Any) -> Any:  # Any: JSON
        return {
            "decisions": [
                {"hunk": 1, "action": "accept"},
                {"hunk": 2, "action": "edit", "patch": " line 17\n-line 99\n+line x\n"},
                {"hunk": 3, "action": "accept"},
            ]
        }

    client = await start_client("neovim", on_review=review)
    await run_edit(client, project)
    assert not client.applied_edits  # type: ignore[attr-defined]
    assert any("no longer applies" in m.message for m in client.messages)
    assert "no longer applies" in llm_server.calls[-1].tool_results[-1]
    assert (project / "notes.txt").read_text() == OLD


def script_one_hunk(llm: ScriptedLLM, project: Path) -> None:
    """notes.txt, and a write_file that changes only its line 2 (one hunk)."""
    (project / "notes.txt").write_text(OLD)
    llm.script(
        [
            Turn.tool_calls(
                ("write_file", {"path": "notes.txt", "content": OLD.replace("line 2\n", "two\n")})
            ),
            Turn.text("Noted."),
        ]
    )


async def test_a_one_hunk_change_applied_with_other_text_is_reported_as_edited(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    # One hunk takes the whole-change route; VS Code's diff tab applies its proposal side as the
    # user left it (here: typed over), so the agent must hear what the buffer holds.
    script_one_hunk(llm_server, project)

    def apply_own_version(buffer: Buffer, params: lsp.ApplyWorkspaceEditParams) -> None:
        buffer.apply(params.edit)
        buffer.apply(_whole(buffer, OLD.replace("line 2\n", "line two (mine)\n")))

    client, _ = await start_with_buffer(
        start_client, project, "visual-studio-code", apply_own_version
    )
    await run_edit(client, project)
    report = review_result(llm_server.calls[-1])
    assert (report["applied"], report["edited"], report["rejected"]) == ([], [1], [])
    hunks: list[dict[str, str]] = report["hunks"]  # type: ignore[assignment]
    assert len(hunks) == 1
    assert "line two (mine)\n" in hunks[0]["text"]
    assert (project / "notes.txt").read_text() == OLD, "the editor applies; the server never writes"


async def test_a_one_hunk_change_applied_as_proposed_is_done(
    start_client: StartClient, project: Path, llm_server: ScriptedLLM
) -> None:
    script_one_hunk(llm_server, project)
    client, buffer = await start_with_buffer(start_client, project, "visual-studio-code")
    await run_edit(client, project)
    assert buffer.text == OLD.replace("line 2\n", "two\n")
    assert "applied it" in llm_server.calls[-1].tool_results[-1]


def _whole(buffer: Buffer, text: str) -> lsp.WorkspaceEdit:
    """An edit replacing the whole buffer with ``text`` (as an editor applying its own version)."""
    end = lsp.Position(line=len(buffer.text.splitlines()) + 1, character=0)
    return lsp.WorkspaceEdit(
        document_changes=[
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(
                    uri=buffer.uri, version=None
                ),
                edits=[
                    lsp.TextEdit(
                        range=lsp.Range(start=lsp.Position(line=0, character=0), end=end),
                        new_text=text,
                    )
                ],
            )
        ]
    )
