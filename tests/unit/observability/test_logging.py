"""Logs: JSON or console on stderr only, secrets redacted everywhere, request context bound."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from pydantic import BaseModel

from luminamind.agent.events import FinalAnswer
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from luminamind.errors import ToolExecutionError
from luminamind.observability.logging import configure_logging, info_enabled
from luminamind.tools import ToolContext, ToolExecutor, ToolRegistry, tool
from tests.support.llm_server import ScriptedLLM, Turn

_log = structlog.get_logger("tests.logging")
ENV_SECRET = "env-secret-value-0123456789"
BEARER = "Bearer abcdefghijklmnopqrstuvwxyz0123"
OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz"


class Echo(BaseModel):
    text: str


@tool(family="system", read_only=True)
async def echo(ctx: ToolContext, *, text: str) -> Echo:
    """Echo the text, logging on the way."""
    _log.info("echo_ran", length=len(text))
    return Echo(text=text)


@tool(family="system", read_only=True)
async def leak(ctx: ToolContext, *, text: str) -> Echo:
    """Fail with the argument in the message (as careless library errors do)."""
    raise RuntimeError(f"upstream refused {text}")


@pytest.fixture(autouse=True)
def _restore_structlog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MY_SERVICE_TOKEN", ENV_SECRET)
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()


def _lines(err: str) -> list[dict[str, Any]]:  # Any: JSON log events
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_lines_on_stderr_with_every_secret_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", fmt="json")
    _log.info(
        "request_received",
        api_key=OPENAI_KEY,
        headers={"Authorization": BEARER, "Accept": "text/plain"},
        note=f"called with {ENV_SECRET} and {OPENAI_KEY}",
        url="https://user:hunter2password@example.com/x",
    )
    try:
        raise ValueError(f"bad credentials {BEARER}")
    except ValueError:
        _log.exception("request_failed")
    out, err = capsys.readouterr()
    assert out == "", "stdout belongs to the stdio protocols"
    assert ENV_SECRET not in err
    assert OPENAI_KEY not in err
    assert "abcdefghijklmnopqrstuvwxyz0123" not in err
    assert "hunter2password" not in err
    first, second = _lines(err)
    assert first["event"] == "request_received"
    assert first["level"] == "info"
    assert first["api_key"] == "[REDACTED]"
    assert first["headers"] == {"Authorization": "[REDACTED]", "Accept": "text/plain"}
    assert first["note"] == "called with [REDACTED] and [REDACTED]"
    # The traceback is text by the time it is redacted: the secret in the message is gone.
    assert "ValueError: bad credentials Bearer [REDACTED]" in second["exception"]


def test_console_format_for_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", fmt="console")
    _log.info("cli_event", token=ENV_SECRET)
    _log.debug("hidden_below_level")
    out, err = capsys.readouterr()
    assert out == ""
    assert "cli_event" in err
    assert "hidden_below_level" not in err
    assert ENV_SECRET not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_info_enabled_follows_the_configured_level() -> None:
    configure_logging(level="WARNING", fmt="json")
    assert not info_enabled()
    configure_logging(level="INFO", fmt="json")
    assert info_enabled()
    configure_logging(level="DEBUG", fmt="json")
    assert info_enabled()
    # Whoever configures structlog last decides (an embedding application, a test's capture).
    configure_logging(level="ERROR", fmt="json")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    assert info_enabled()


async def test_tool_calls_log_bound_context_and_redacted_arguments(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", fmt="json")
    executor = ToolExecutor(ToolRegistry([echo, leak]))
    context = ToolContext.from_settings(settings, surface="mcp", thread_id="t-9")
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        await executor.acall("echo", {"text": f"hi {BEARER}"}, context=context)
        with pytest.raises(ToolExecutionError):
            await executor.acall("leak", {"text": OPENAI_KEY}, context=context)
    _, err = capsys.readouterr()
    assert OPENAI_KEY not in err
    assert "abcdefghijklmnopqrstuvwxyz0123" not in err
    events = {e["event"] + ":" + e.get("tool", ""): e for e in _lines(err)}
    inner = events["echo_ran:echo"]
    assert inner["request_id"] == "req-1", "the request's context reaches the tool's own lines"
    finished = events["tool_call_finished:echo"]
    assert finished["thread_id"] == "t-9"
    assert finished["arguments"] == {"text": "hi Bearer [REDACTED]"}
    failed = events["tool_call_finished:leak"]
    assert failed["outcome"] == "tool_failed"
    assert failed["arguments"] == {"text": "[REDACTED]"}
    assert failed["error"] == "leak failed: RuntimeError: upstream refused [REDACTED]"
    # Nothing stays bound once the request is over.
    assert structlog.contextvars.get_contextvars() == {}


async def test_agent_runs_bind_the_thread_to_every_line(
    llm_settings: Settings, llm_server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", fmt="json")
    llm_server.script([Turn.tool_calls(("echo", {"text": "x"})), Turn.text("Echoed.")])
    async with AgentService.open(
        llm_settings, surface="lsp", registry=ToolRegistry([echo])
    ) as service:
        events = [e async for e in service.stream("log-thread", "Echo x")]
    assert isinstance(events[-1], FinalAnswer), events[-1]
    _, err = capsys.readouterr()
    inner = [e for e in _lines(err) if e["event"] == "echo_ran"]
    assert inner, err
    assert inner[0]["thread_id"] == "log-thread"
    assert inner[0]["surface"] == "lsp"
    assert inner[0]["tool"] == "echo"
    assert structlog.contextvars.get_contextvars() == {}, "the run's binding stayed in its task"
