"""What the scripted LLM answers: turns, tool calls, and the request a responder sees.

A script is a list of `Turn`s consumed one per model request. The same turns can be written as
JSON (for ``python -m tests.support.llm_server --script FILE`` and the ``/_script`` control
endpoint); `Turn.to_json` and `Turn.from_json` convert both ways::

    [{"text": "Hello"},
     {"tool_calls": [{"name": "read_file", "args": {"path": "a.py"}}]},
     {"error": 429, "retry_after": 0.1},
     {"text": "slow", "delay": 5.0},
     {"text": "42", "reasoning": "Six times seven."},
     {"malformed": "{not json"},
     {"disconnect": true}]

A script file may also route turns by system prompt or model (see `Script.from_json`)::

    {"turns": [...], "routes": [{"system": "code-executor", "turns": [...]}]}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["EXHAUSTED_TEXT", "LLMRequest", "Route", "Script", "ToolCall", "Turn", "TurnKind"]

# What the server answers when no turn is left: visible in transcripts, recorded in `unscripted`.
EXHAUSTED_TEXT = "(script exhausted)"

TurnKind = Literal["text", "tool_calls", "error", "malformed", "disconnect"]


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model makes.

    Attributes:
        name: the tool's name (any string: unknown tools are how tests exercise that path).
        args: the arguments object, or a raw string sent verbatim (malformed JSON on purpose).
        id: the call id; the server numbers calls ``call_1``, ``call_2``... when omitted.
    """

    name: str
    args: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the OpenAI API sends them: a JSON string."""
        return self.args if isinstance(self.args, str) else json.dumps(self.args)

    def arguments_object(self) -> Any:
        """The arguments as Ollama sends them: an object (a raw string stays a string)."""
        return self.args


@dataclass(frozen=True)
class Turn:
    """One model response, or one failure, served for one request.

    Build turns with the class methods; every kind accepts ``delay`` (seconds before the response
    starts: longer than the client's timeout makes a timeout) and ``chunk_delay`` (seconds between
    streamed chunks); text turns also accept ``cut_after`` (a streamed answer stops after that
    many chunks and the connection is dropped, as when a proxy dies mid-answer).
    """

    kind: TurnKind
    content: str = ""
    """The answer's text (or the error message for an error turn)."""
    calls: tuple[ToolCall, ...] = ()
    status: int = 200
    retry_after: float | None = None
    body: str = ""
    delay: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None
    """Streamed answers only: drop the connection after this many chunks."""
    usage: tuple[int, int] | None = None
    """(prompt_tokens, completion_tokens); estimated from the sizes when None."""
    reasoning: str = ""
    """Text and tool-call turns: the model's thinking, sent before the answer as OpenAI-compatible
    servers that reason do (``reasoning_content``; Ollama: ``thinking``)."""

    @classmethod
    def text(
        cls,
        text: str,
        *,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        usage: tuple[int, int] | None = None,
        cut_after: int | None = None,
        reasoning: str = "",
    ) -> Turn:
        """A plain assistant answer (streamed in several chunks when the client streams)."""
        return cls(
            "text",
            content=text,
            delay=delay,
            chunk_delay=chunk_delay,
            usage=usage,
            cut_after=cut_after,
            reasoning=reasoning,
        )

    @classmethod
    def tool_calls(
        cls,
        *calls: ToolCall | tuple[str, dict[str, Any] | str],
        text: str = "",
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        usage: tuple[int, int] | None = None,
        reasoning: str = "",
    ) -> Turn:
        """An assistant message calling tools: ``Turn.tool_calls(("read_file", {"path": "a"}))``."""
        built = tuple(c if isinstance(c, ToolCall) else ToolCall(c[0], c[1]) for c in calls)
        if not built:
            raise ValueError("Turn.tool_calls needs at least one call")
        return cls(
            "tool_calls",
            content=text,
            calls=built,
            delay=delay,
            chunk_delay=chunk_delay,
            usage=usage,
            reasoning=reasoning,
        )

    @classmethod
    def error(
        cls,
        status: int,
        *,
        message: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> Turn:
        """An HTTP error in the provider's error format, with ``Retry-After`` when given."""
        if not 400 <= status <= 599:
            raise ValueError(f"error status must be 4xx or 5xx, not {status}")
        return cls(
            "error",
            status=status,
            content=message or f"scripted error {status}",
            retry_after=retry_after,
            delay=delay,
        )

    @classmethod
    def malformed(cls, body: str = "{this is not json", *, delay: float = 0.0) -> Turn:
        """HTTP 200 whose body (or SSE/NDJSON line when streaming) is ``body``, verbatim."""
        return cls("malformed", body=body, delay=delay)

    @classmethod
    def disconnect(cls, *, delay: float = 0.0) -> Turn:
        """Close the connection without answering (a connection error for the client)."""
        return cls("disconnect", delay=delay)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Turn:
        """Answer ``(late)`` only after ``seconds``: a timeout for any client with a shorter one."""
        return cls("text", content="(late)", delay=seconds)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        out: dict[str, Any]
        if self.kind == "text":
            out = {"text": self.content}
        elif self.kind == "tool_calls":
            out = {
                "tool_calls": [
                    {"name": c.name, "args": c.args, **({"id": c.id} if c.id else {})}
                    for c in self.calls
                ]
            }
            if self.content:
                out["text"] = self.content
        elif self.kind == "error":
            out = {"error": self.status, "message": self.content}
            if self.retry_after is not None:
                out["retry_after"] = self.retry_after
        elif self.kind == "malformed":
            out = {"malformed": self.body}
        else:
            out = {"disconnect": True}
        if self.delay:
            out["delay"] = self.delay
        if self.chunk_delay:
            out["chunk_delay"] = self.chunk_delay
        if self.cut_after is not None:
            out["cut_after"] = self.cut_after
        if self.usage is not None:
            out["usage"] = list(self.usage)
        if self.reasoning:
            out["reasoning"] = self.reasoning
        return out

    @classmethod
    def from_json(cls, data: Any) -> Turn:
        """Parse the JSON form; a plain string is a text turn. Raises ValueError on bad input."""
        if isinstance(data, str):
            return cls.text(data)
        if not isinstance(data, dict):
            raise ValueError(f"a turn is a string or an object, not {type(data).__name__}")
        delay = float(data.get("delay", 0.0))
        chunk_delay = float(data.get("chunk_delay", 0.0))
        usage = (int(data["usage"][0]), int(data["usage"][1])) if "usage" in data else None
        if "tool_calls" in data:
            calls = [
                ToolCall(c["name"], c.get("args", {}), c.get("id")) for c in data["tool_calls"]
            ]
            return cls.tool_calls(
                *calls,
                text=data.get("text", ""),
                delay=delay,
                chunk_delay=chunk_delay,
                usage=usage,
                reasoning=str(data.get("reasoning", "")),
            )
        if "text" in data:
            cut = data.get("cut_after")
            return cls.text(
                data["text"],
                delay=delay,
                chunk_delay=chunk_delay,
                usage=usage,
                cut_after=None if cut is None else int(cut),
                reasoning=str(data.get("reasoning", "")),
            )
        if "error" in data:
            return cls.error(
                int(data["error"]),
                message=data.get("message"),
                retry_after=data.get("retry_after"),
                delay=delay,
            )
        if "malformed" in data:
            return cls.malformed(str(data["malformed"]), delay=delay)
        if data.get("disconnect"):
            return cls.disconnect(delay=delay)
        raise ValueError(f"unknown turn {data!r}: expected text, tool_calls, error, malformed")


@dataclass(frozen=True)
class Route:
    """Which requests a routed script answers: every given condition must hold."""

    system: str | None = None
    """A substring of the request's system prompt."""
    model: str | None = None
    """The exact model name the request asks for."""
    when: Callable[[LLMRequest], bool] | None = None
    """Any test on the request (compared by identity when scripts are appended)."""

    def matches(self, request: LLMRequest) -> bool:
        if self.system is not None and self.system not in request.system:
            return False
        if self.when is not None and not self.when(request):
            return False
        return self.model is None or self.model == request.model


@dataclass
class Script:
    """Turns for every request plus routed turns, as read from a JSON script."""

    turns: list[Turn] = field(default_factory=list)
    routes: list[tuple[Route, list[Turn]]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> Script:
        """Parse a list of turns, or ``{"turns": [...], "routes": [{system?, model?, turns}]}``."""
        if isinstance(data, list):
            return cls([Turn.from_json(t) for t in data])
        if not isinstance(data, dict):
            raise ValueError("a script is a list of turns or an object with 'turns'/'routes'")
        routes = [
            (
                Route(system=r.get("system"), model=r.get("model")),
                [Turn.from_json(t) for t in r["turns"]],
            )
            for r in data.get("routes", [])
        ]
        return cls([Turn.from_json(t) for t in data.get("turns", [])], routes)


@dataclass
class LLMRequest:
    """A model request the server received, in a form that reads the same for both APIs.

    Attributes:
        api: ``openai`` or ``ollama``.
        path: the HTTP path.
        body: the JSON body exactly as sent.
        turn: what the server answered (set after the turn is chosen).
        exhausted: True when no turn was left and the server answered `EXHAUSTED_TEXT`.
    """

    api: Literal["openai", "ollama"]
    path: str
    body: dict[str, Any]
    turn: Turn | None = None
    exhausted: bool = False

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        # Ollama streams unless told not to; OpenAI only when asked.
        default = self.api == "ollama"
        return bool(self.body.get("stream", default))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> str:
        """Every system (and OpenAI ``developer``) message's text, joined by newlines."""
        return "\n".join(
            _content_text(m.get("content"))
            for m in self.messages
            if m.get("role") in ("system", "developer")
        )

    @property
    def last_message(self) -> dict[str, Any]:
        return self.messages[-1] if self.messages else {}

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _content_text(message.get("content"))
        return ""

    @property
    def tool_results(self) -> list[str]:
        """The text of every ``tool`` message, oldest first."""
        return [_content_text(m.get("content")) for m in self.messages if m.get("role") == "tool"]

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools the client bound."""
        return [str(t.get("function", {}).get("name", "")) for t in self.body.get("tools", [])]


def _content_text(content: Any) -> str:
    """Message content as text: OpenAI may send a list of typed parts instead of a string."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)
