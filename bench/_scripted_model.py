"""The zero-latency scripted chat model and the trivial tool both agent benchmarks sides use.

Imported by `bench/agent_overhead.py` (LuminaMind's venv) and by `bench/_deepagents_peer.py`
(the peer venv), so it depends on ``langchain-core`` only.

`ScriptedToolModel` is a real `BaseChatModel`: it goes through LangChain's callbacks, LangGraph's
message streaming and ``bind_tools`` like any provider. ``bind_tools`` converts each tool to the
OpenAI tool format, as ``ChatOpenAI`` does, so the framework pays the same per-step conversion
it would with a real model. The answer is computed from the conversation, not from a cursor, so
one model object serves any number of threads and runs: after the last human message it calls
``lookup`` until it has seen ``tool_calls`` tool results, then answers "done". The time spent
inside the model's own ``_agenerate`` (and inside the tool's body) is accumulated, so a benchmark
can subtract it and keep the framework's time only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

__all__ = [
    "STREAM_MODES",
    "TASK",
    "TOOL_CALLS",
    "TOOL_DESCRIPTION",
    "TOOL_TIMER",
    "ScriptedToolModel",
    "Timer",
    "lookup_value",
]

TOOL_CALLS = 50
TASK = "Look up the fifty keys k0 .. k49, one lookup call each, then say done."
TOOL_DESCRIPTION = "Look a key up in the benchmark table and return its value."
# What LuminaMind's AgentService streams; the peer streams the same so both do the same work.
STREAM_MODES = ["messages", "updates", "custom"]


class Timer:
    """Accumulated seconds and calls of one timed part (the model, the tool body)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.first_at: float | None = None
        self.starts: list[float] = []  # when each call started (per-step times along a thread)
        self.cpu_starts: list[float] = []  # the process's CPU time then (moves less with load)

    def reset(self) -> None:
        self.seconds, self.calls, self.first_at = 0.0, 0, None
        self.starts, self.cpu_starts = [], []

    def add(self, started: float) -> None:
        now = time.perf_counter()
        if self.first_at is None:
            self.first_at = started
        self.starts.append(started)
        self.cpu_starts.append(time.process_time())
        self.seconds += now - started
        self.calls += 1


TOOL_TIMER = Timer()


def lookup_value(key: str) -> str:
    """The tool's whole work, identical on both sides (and timed, to be subtracted)."""
    started = time.perf_counter()
    value = f"value of {key}"
    TOOL_TIMER.add(started)
    return value


class ScriptedToolModel(BaseChatModel):
    """Calls ``lookup`` ``tool_calls`` times after the last human message, then says "done"."""

    tool_calls: int = TOOL_CALLS
    tool_name: str = "lookup"
    _timer: Timer = PrivateAttr(default_factory=Timer)
    # The tool names the framework offered on the last call (reported, to compare the sides).
    _offered: list[str] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-tool-model"

    @property
    def timer(self) -> Timer:
        return self._timer

    @property
    def offered_tools(self) -> list[str]:
        return list(self._offered)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # As ChatOpenAI.bind_tools: every tool converted to the OpenAI schema on every call.
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _answer(self, messages: list[BaseMessage]) -> AIMessage:
        # Tool calls made since the last human message, read back only to this model's last
        # call (its key says how many came before it), not through the whole history: a scan of
        # every message made the model's own time grow with the thread, which part 3 of
        # bench/agent_overhead.py would have counted as the framework's.
        done = 0
        for message in reversed(messages):
            if isinstance(message, HumanMessage):
                break
            if isinstance(message, ToolMessage):
                done += 1
            elif isinstance(message, AIMessage) and message.tool_calls:
                key = str(message.tool_calls[-1]["args"].get("key", ""))
                if message.tool_calls[-1]["name"] == self.tool_name and key[1:].isdigit():
                    done += int(key[1:])  # the calls before that one
                    break
        if done >= self.tool_calls:
            return AIMessage(content="done")
        call = {
            "name": self.tool_name,
            "args": {"key": f"k{done}"},
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "tool_call",
        }
        return AIMessage(content="", tool_calls=[call])

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ChatResult:
        started = time.perf_counter()
        self._offered = [t["function"]["name"] for t in kwargs.get("tools") or []]
        result = ChatResult(generations=[ChatGeneration(message=self._answer(messages))])
        self._timer.add(started)
        return result

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._reply(messages, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Not the default (which runs _generate in a thread pool): zero latency, no hop.
        return self._reply(messages, kwargs)
