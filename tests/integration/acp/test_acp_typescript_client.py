"""End to end through an independent implementation: a client on the official TypeScript SDK.

`make test` installs tests/acp_client (``@agentclientprotocol/sdk``, pinned, lock file). The SDK
validates every message it receives against the protocol's schema, so the wire format of
``luminamind acp`` is checked by code we did not write.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.acp_editor import BIN
from tests.support.llm_server import ScriptedLLM, Turn
from tests.support.server_home import server_env

CLIENT = Path(__file__).resolve().parents[2] / "acp_client"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CLIENT / "node_modules/@agentclientprotocol/sdk").exists(),
        reason="run `make test` (it installs tests/acp_client)",
    ),
]


def test_typescript_client_edits_a_file_through_the_agent(
    workspace_dir: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    target = workspace_dir / "hello.txt"
    target.write_text("hello\nworld\n", encoding="utf-8")
    todos = [{"content": "Edit hello.txt", "status": "in_progress"}]
    llm_server.script(
        [
            Turn.tool_calls(("write_todos", {"todos": todos})),
            Turn.tool_calls(("write_file", {"path": "hello.txt", "content": "hello\nacp\n"})),
            Turn.text("Done: hello.txt now greets ACP."),
        ]
    )
    node = shutil.which("node")
    assert node is not None, "make test needs Node.js (it installs the client with npm)"
    done = subprocess.run(
        [node, str(CLIENT / "client.mjs"), str(BIN), str(workspace_dir), "Edit hello.txt"],
        capture_output=True,
        text=True,
        timeout=180,
        env=server_env(tmp_path, llm_server.env()),
        cwd=CLIENT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["init"]["agentCapabilities"]["loadSession"] is True
    assert result["turn"]["stopReason"] == "end_turn"
    [permission] = result["permissions"]
    assert permission["options"] == ["allow_once", "allow_always", "reject_once", "reject_always"]
    [diff] = [c for c in permission["toolCall"]["content"] if c["type"] == "diff"]
    assert diff == {
        "type": "diff",
        "path": str(target),
        "oldText": "hello\nworld\n",
        "newText": "hello\nacp\n",
    }
    assert result["writes"] == [str(target)]
    assert target.read_text(encoding="utf-8") == "hello\nacp\n"
    kinds = [u["sessionUpdate"] for u in result["updates"]]
    assert {"available_commands_update", "plan", "tool_call", "tool_call_update"} <= set(kinds)
    assert kinds[-1] == "agent_message_chunk"
    text = "".join(
        u["content"]["text"]
        for u in result["updates"]
        if u["sessionUpdate"] == "agent_message_chunk"
    )
    assert "greets ACP" in text
    listed = result["listed"]["sessions"]
    assert [s["sessionId"] for s in listed] == [result["session"]["sessionId"]]


def test_typescript_client_sees_thoughts_and_the_editors_mcp_server(
    workspace_dir: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    """Reasoning as agent_thought_chunk, an MCP server and an additional directory, on the wire."""
    shared = (tmp_path / "shared").resolve()
    shared.mkdir()
    (shared / "todo.md").write_text("milk\n", encoding="utf-8")
    thought = "I should read the shared list, then note it."
    llm_server.script(
        [
            Turn.tool_calls(("read_file", {"path": str(shared / "todo.md")}), reasoning=thought),
            Turn.tool_calls(("mcp__tiny__note", {"text": "milk"})),
            Turn.text("Noted."),
        ]
    )
    root = Path(__file__).resolve().parents[3]
    session = {
        "mcpServers": [
            {
                "name": "tiny",
                "command": sys.executable,
                "args": ["-m", "tests.support.tiny_mcp"],
                "env": [{"name": "PYTHONPATH", "value": str(root)}],
            }
        ],
        "additionalDirectories": [str(shared)],
    }
    node = shutil.which("node")
    assert node is not None, "make test needs Node.js (it installs the client with npm)"
    done = subprocess.run(
        [
            node,
            str(CLIENT / "client.mjs"),
            str(BIN),
            str(workspace_dir),
            "Note the shared list",
            json.dumps(session),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=server_env(tmp_path, llm_server.env()),
        cwd=CLIENT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    caps = result["init"]["agentCapabilities"]
    assert caps["mcpCapabilities"]["http"] is True
    assert caps["sessionCapabilities"]["additionalDirectories"] == {}
    assert result["turn"]["stopReason"] == "end_turn"
    thoughts = [u for u in result["updates"] if u["sessionUpdate"] == "agent_thought_chunk"]
    assert "".join(u["content"]["text"] for u in thoughts) == thought
    [permission] = result["permissions"]
    assert permission["toolCall"]["title"]
    assert "milk" in llm_server.calls[1].tool_results[-1]
    assert llm_server.calls[2].tool_results[-1] == "noted: milk"
    assert (workspace_dir / "notes.txt").read_text(encoding="utf-8") == "milk\n"
