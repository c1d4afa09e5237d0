"""The ACP surface's pure parts: malformed JSON-RPC, permissions, tool-call views, prompts."""

from __future__ import annotations

from pathlib import Path

import mcp_types as types
import pytest
from acp.schema import (
    AllowedOutcome,
    DeniedOutcome,
    EmbeddedResourceContentBlock,
    RequestPermissionResponse,
    ResourceContentBlock,
    TextContentBlock,
    TextResourceContents,
)
from langchain_core.tools import StructuredTool

from luminamind.agent.events import ActionRequest, FileChange, ToolFinished, ToolStarted
from luminamind.agent.thread_tools import ThreadTool, ThreadToolRegistry
from luminamind_acp.mcp_servers import _result_text, tool_name
from luminamind_acp.permissions import OPTIONS, SessionGrants, decide_one, decision_for
from luminamind_acp.prompt import prompt_text
from luminamind_acp.toolcalls import ToolCallView, kind_of, title_of
from luminamind_acp.transport import classify

EDIT = ActionRequest(
    id="call_1",
    tool="write_file",
    arguments={"path": "a.txt", "content": "new\n"},
    files=[FileChange(path="a.txt", diff="…", old_text="old\n", new_text="new\n")],
)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"{nope", -32700),
        (b"\xff\xfe", -32700),
        (b"[1]", -32600),
        (b'"text"', -32600),
        (b'{"id": 1, "method": "initialize"}', -32600),
        (b'{"jsonrpc": "2.0"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 5}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": ' + b"[" * 60_000, -32600),
    ],
)
def test_malformed_lines_get_json_rpc_errors_with_a_null_id(line: bytes, code: int) -> None:
    message, error = classify(line)
    assert message is None
    assert error is not None
    assert error["id"] is None
    assert error["error"]["code"] == code
    assert error["error"]["data"]["details"]


def test_well_formed_requests_responses_and_notifications_pass() -> None:
    for line in (
        b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}',
        b'{"jsonrpc": "2.0", "method": "session/cancel", "params": {}}',
        b'{"jsonrpc": "2.0", "id": 3, "result": {}}',
    ):
        message, error = classify(line)
        assert error is None
        assert message is not None


def test_the_four_acp_options_are_offered_with_their_kinds_as_ids() -> None:
    assert [(o.option_id, o.kind) for o in OPTIONS] == [
        ("allow_once", "allow_once"),
        ("allow_always", "allow_always"),
        ("reject_once", "reject_once"),
        ("reject_always", "reject_always"),
    ]


def test_always_answers_are_remembered_per_tool() -> None:
    grants = SessionGrants()
    assert decision_for(EDIT, "allow_always", grants).decision.type == "approve"  # type: ignore[union-attr]
    assert grants.always == {"write_file": "allow"}
    rejected = decision_for(EDIT, "reject_always", grants).decision
    assert rejected is not None
    assert rejected.type == "reject"
    assert grants.always == {"write_file": "reject"}


def test_an_option_that_was_not_offered_is_a_rejection_with_a_notice() -> None:
    answer = decision_for(EDIT, "yes-please", SessionGrants())
    assert answer.decision is not None
    assert answer.decision.type == "reject"
    assert answer.notice is not None
    assert "'yes-please'" in answer.notice


async def _never_asked(*_: object) -> RequestPermissionResponse:
    raise AssertionError("the editor must not be asked")


async def test_modes_and_grants_answer_without_asking() -> None:
    view = ToolCallView(Path("/ws"))
    plan = await decide_one(EDIT, mode="plan", grants=SessionGrants(), view=view, ask=_never_asked)
    assert plan.decision is not None
    assert plan.decision.type == "reject"
    assert "plan mode" in (plan.decision.message or "")
    edits = await decide_one(
        EDIT, mode="accept_edits", grants=SessionGrants(), view=view, ask=_never_asked
    )
    assert edits.decision is not None
    assert edits.decision.type == "approve"
    remembered = SessionGrants(always={"write_file": "reject"})
    again = await decide_one(EDIT, mode="ask", grants=remembered, view=view, ask=_never_asked)
    assert again.decision is not None
    assert again.decision.type == "reject"


async def test_a_cancelled_permission_request_leaves_no_decision() -> None:
    async def cancelled(*_: object) -> RequestPermissionResponse:
        return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))

    view = ToolCallView(Path("/ws"))
    answer = await decide_one(EDIT, mode="ask", grants=SessionGrants(), view=view, ask=cancelled)
    assert answer.decision is None


async def test_the_permission_request_carries_the_diff_with_an_absolute_path() -> None:
    seen = []

    async def allow(tool_call: object, options: object) -> RequestPermissionResponse:
        seen.append(tool_call)
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id="allow_once")
        )

    view = ToolCallView(Path("/ws"))
    view.pending(EDIT)
    answer = await decide_one(EDIT, mode="ask", grants=SessionGrants(), view=view, ask=allow)
    assert answer.decision is not None
    assert answer.decision.type == "approve"
    [update] = seen
    [diff] = update.content  # type: ignore[attr-defined]
    assert (diff.type, diff.path, diff.old_text, diff.new_text) == (
        "diff",
        "/ws/a.txt",
        "old\n",
        "new\n",
    )


def test_tool_calls_have_kinds_titles_and_locations() -> None:
    assert [kind_of(t) for t in ("read_file", "apply_patch", "delete_file", "grep_search")] == [
        "read",
        "edit",
        "delete",
        "search",
    ]
    assert [kind_of(t) for t in ("shell", "web_crawl", "task", "mcp_thing")] == [
        "execute",
        "fetch",
        "think",
        "other",
    ]
    assert title_of("shell", {"command": "pytest -q"}) == "Run `pytest -q`"
    view = ToolCallView(Path("/ws"))
    start = view.started(
        ToolStarted(
            thread_id="t",
            call_id="c",
            tool="read_file",
            arguments={"path": "src/a.py", "offset": 40},
        )
    )
    assert start.session_update == "tool_call"
    assert [(loc.path, loc.line) for loc in start.locations or []] == [("/ws/src/a.py", 40)]
    again = view.started(ToolStarted(thread_id="t", call_id="c", tool="read_file", arguments={}))
    assert again.session_update == "tool_call_update"  # the editor already knows the call
    done = view.finished(
        ToolFinished(thread_id="t", call_id="c", tool="read_file", status="error", content="boom")
    )
    assert done.status == "failed"


def test_prompt_blocks_become_one_message() -> None:
    text = prompt_text(
        [
            TextContentBlock(type="text", text="Fix"),
            ResourceContentBlock(type="resource_link", name="a.py", uri="file:///ws/a%20b.py"),
            EmbeddedResourceContentBlock(
                type="resource",
                resource=TextResourceContents(uri="file:///ws/c.py", text="x = 1"),
            ),
        ]
    )
    assert text.startswith("Fix [a.py](/ws/a b.py)")
    assert "Context from /ws/c.py:\n```\nx = 1\n```" in text


def test_mcp_tool_names_are_prefixed_and_fit_every_provider() -> None:
    assert tool_name("github", "create_issue") == "mcp__github__create_issue"
    assert tool_name("my server", "do.it/now") == "mcp__my_server__do_it_now"
    long = tool_name("s" * 50, "t" * 50)
    assert len(long) == 64
    assert long.startswith("mcp__sss")


def test_mcp_results_become_text_the_model_reads() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="one"),
            types.ImageContent(type="image", data="AAAA", mime_type="image/png"),
        ]
    )
    assert _result_text(result) == "one\n[image image/png]"
    structured = types.CallToolResult(content=[], structured_content={"n": 1})
    assert _result_text(structured) == '{"n": 1}'


def test_thread_tools_follow_the_session_to_a_new_thread() -> None:
    async def shout(text: str) -> str:
        return text.upper()

    tool = ThreadTool(
        tool=StructuredTool.from_function(
            coroutine=shout, name="mcp__t__shout", description="Shout."
        ),
        read_only=True,
        source="MCP server 't'",
    )
    registry = ThreadToolRegistry()
    registry.attach("a", [tool])
    assert list(registry.get("a")) == ["mcp__t__shout"]
    assert registry.get("b") == {}
    assert registry.get(None) == {}
    registry.move("a", "b")
    assert registry.get("a") == {}
    assert list(registry.get("b")) == ["mcp__t__shout"]
    registry.detach("b")
    assert registry.get("b") == {}
