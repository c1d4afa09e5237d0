"""The client's own model through sampling: no provider configured, the MCP client answers.

``luminamind mcp`` runs over stdio with no API key and no local endpoint, so the agent's model
calls go to ``sampling/createMessage``. The client is the official MCP client with a scripted
sampling callback (it declares ``sampling.tools``) and an elicitation callback that approves.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import mcp_types as types
import pytest
from mcp.client.session import ClientRequestContext, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.mcp_clients import BIN, ScriptedUser, text_of
from tests.support.server_home import server_env

pytestmark = pytest.mark.slow

Answer = types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData


class ScriptedClientModel:
    """A sampling callback answering from a list, recording every request it gets."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[types.CreateMessageRequestParams] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> Answer:
        del context
        self.requests.append(params)
        return self.answers.pop(0)


@contextlib.asynccontextmanager
async def client(
    workspace: Path,
    home: Path,
    model: ScriptedClientModel | None,
    *,
    tools: bool = True,
) -> AsyncIterator[ClientSession]:
    # No key anywhere: the server must use the client's model.
    env = server_env(home, {"GLM_API_KEY": "", "OPENAI_API_KEY": ""})
    params = StdioServerParameters(
        command=str(BIN), args=["mcp", "--workspace", str(workspace)], env=env, cwd=workspace
    )
    capability = types.SamplingCapability(tools=types.SamplingToolsCapability() if tools else None)
    with (home / "stdio.log").open("a", encoding="utf-8") as log:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(
                read,
                write,
                sampling_callback=model,
                sampling_capabilities=capability if model is not None else None,
                elicitation_callback=ScriptedUser("accept"),
            ) as session,
        ):
            await session.initialize()
            yield session


def _result(
    content: Any,  # Any: one content block or a list of them
    *,
    role: str = "assistant",
) -> types.CreateMessageResultWithTools:
    return types.CreateMessageResultWithTools(
        role=role,
        content=content,
        model="client-model-1",
        stop_reason="toolUse" if isinstance(content, list) else "endTurn",
    )


async def run(session: ClientSession, task: str) -> dict[str, Any]:  # Any: JSON
    result = await session.call_tool("run_task", {"task": task})
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_the_client_model_drives_a_run_with_a_tool_call_and_an_approval(
    workspace: Path, home: Path
) -> None:
    model = ScriptedClientModel(
        _result(
            [
                types.TextContent(type="text", text="I will write the file."),
                types.ToolUseContent(
                    type="tool_use",
                    id="call-1",
                    name="write_file",
                    input={"path": "sampled.txt", "content": "from the client\n"},
                ),
            ]
        ),
        _result([types.TextContent(type="text", text="Wrote sampled.txt.")]),
    )
    async with client(workspace, home, model) as session:
        done = await run(session, "Write sampled.txt")
    assert done["status"] == "completed", done
    assert done["answer"] == "Wrote sampled.txt."
    assert (workspace / "sampled.txt").read_text() == "from the client\n"
    first, second = model.requests
    assert first.system_prompt
    assert first.tools is not None
    assert {"write_file", "read_file"} <= {t.name for t in first.tools}
    assert first.messages[-1].role == "user"
    # The second call carries the tool call and its result, as MCP sampling blocks.
    blocks = [
        block
        for message in second.messages
        for block in (message.content if isinstance(message.content, list) else [message.content])
    ]
    assert any(isinstance(b, types.ToolUseContent) and b.id == "call-1" for b in blocks)
    results = [b for b in blocks if isinstance(b, types.ToolResultContent)]
    assert [r.tool_use_id for r in results] == ["call-1"]


async def test_a_client_without_tool_use_gets_no_tools(workspace: Path, home: Path) -> None:
    model = ScriptedClientModel(
        types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="Just text."),
            model="plain-model",
        )
    )
    async with client(workspace, home, model, tools=False) as session:
        done = await run(session, "Say something")
    assert done["answer"] == "Just text."
    assert model.requests[0].tools is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            types.ErrorData(code=-1, message="User rejected sampling request"),
            "the client's model did not answer (sampling/createMessage failed with -1: User "
            "rejected sampling request)",
        ),
        (_result([]), "the client's model answered with no usable content"),
        (
            _result([types.TextContent(type="text", text="hi")], role="user"),
            "the client's model answered with no usable content",
        ),
        (
            types.CreateMessageResultWithTools.model_construct(
                role="assistant", content=cast(Any, None), model="broken"
            ),
            # The official client refuses to send its callback's malformed result and answers
            # an error instead; the server's own check of the result is for other clients.
            "failed with -32603: Client callback returned an invalid result",
        ),
    ],
    ids=["refused", "no-content", "wrong-role", "malformed"],
)
async def test_bad_sampling_answers_end_the_run_with_a_clear_error(
    workspace: Path, home: Path, answer: Answer, expected: str
) -> None:
    async with client(workspace, home, ScriptedClientModel(answer)) as session:
        failed = await run(session, "Do something")
        assert failed["status"] == "error", failed
        assert expected in failed["error"]
        assert "GLM_API_KEY" in failed["error"], "says how to configure a provider instead"
        # The server keeps serving.
        assert (await session.call_tool("read_file", {"path": "hello.txt"})).is_error is False


async def test_a_client_without_sampling_is_told_how_to_configure_a_provider(
    workspace: Path, home: Path
) -> None:
    async with client(workspace, home, None) as session:
        failed = await run(session, "Do something")
    assert failed["status"] == "error"
    assert "does not lend its own (MCP sampling)" in failed["error"]
    assert "GLM_API_KEY" in failed["error"]
