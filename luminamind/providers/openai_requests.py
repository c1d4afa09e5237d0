"""Building a Chat Completions request once per model call, not three times.

Measured under load (bench/load.py, py-spy on a replica), a fifth of the server's CPU went to the
OpenAI SDK and LangChain building requests, most of it redoing work whose answer never changes:

- **The SDK's parameter transform.** ``AsyncCompletions.create`` walks every message and every
  tool schema against the ``TypedDict`` annotations of ``CompletionCreateParams`` before posting
  (``openai._utils._transform``), to apply ``PropertyInfo`` aliases and formats. The request
  params of Chat Completions declare none (only response types do), so the walk returns what it
  was given, at ~0.17 ms per message and ~0.8 ms for LuminaMind's 16 tool schemas: 1.6 ms for a
  four-message call, growing with the thread. `UntransformedCompletions` posts LangChain's
  payload as it is, through the client's public ``post`` (the SDK's documented way to send a
  request body of one's own), with the same path, auth, headers, retries, timeout and stream
  types as ``create``. A request with ``response_format`` still goes through ``create``
  (LangChain parses structured output there), and so does ``with_raw_response``.
  ``tests/unit/providers/test_openai_requests.py`` checks that the transform is still the
  identity on such payloads, so an SDK upgrade that starts to rename a field fails there.
- **Tool schemas converted at every call.** ``create_agent`` binds the tools before each model
  call, and ``ChatOpenAI.bind_tools`` converts every tool to its JSON schema again (pydantic
  schema generation, ~0.4 ms for 16 tools). `ToolSchemas` converts each tool once; the bound
  payload is the same dicts LangChain would build.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from openai import AsyncStream, NotGiven, Omit, Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["ToolSchemas", "UntransformedCompletions"]

# ``create``'s own keyword arguments that are request options, not body fields.
_OPTIONS = {"extra_headers": "headers", "extra_query": "params", "extra_body": "extra_json"}


class UntransformedCompletions:
    """``client.chat.completions`` whose ``create`` skips the SDK's identity transform.

    Wraps the real resource (sync or async): every other attribute is the resource's own.
    """

    def __init__(self, completions: Any) -> None:  # Any: openai's (Async)Completions
        self._completions = completions
        client = completions._client  # the resource's client: the one ``create`` posts with
        self._post: Callable[..., Any] = client.post
        self._stream_cls: type[Any] = (
            AsyncStream[ChatCompletionChunk]
            if isinstance(completions, _async_completions())
            else Stream[ChatCompletionChunk]
        )

    def __getattr__(self, name: str) -> Any:  # Any: whatever the resource has
        return getattr(self._completions, name)

    def create(self, **params: Any) -> Any:  # Any: LangChain's payload; a (coroutine of a) reply
        """POST ``/chat/completions`` with ``params`` as the body, as ``create`` would send it."""
        if params.get("response_format") is not None:
            return self._completions.create(**params)
        options: dict[str, Any] = {}  # Any: openai's RequestOptions
        for name, option in _OPTIONS.items():
            value = params.pop(name, None)
            if value is not None:
                options[option] = value
        timeout = params.pop("timeout", None)
        if timeout is not None and not isinstance(timeout, NotGiven):
            options["timeout"] = timeout
        # The transform drops "not given" sentinels; LangChain sends none, but stay equal.
        body = {k: v for k, v in params.items() if not isinstance(v, NotGiven | Omit)}
        stream = bool(body.get("stream"))
        return self._post(
            "/chat/completions",
            body=body,
            options=options,
            cast_to=ChatCompletion,
            stream=stream,
            stream_cls=self._stream_cls,
        )


def _async_completions() -> type[Any]:
    from openai.resources.chat.completions import AsyncCompletions

    return AsyncCompletions


# Tools converted and kept (least recently used dropped): a thread's lent tools (an ACP session's
# MCP servers) are new objects per session, so the cache must not grow with sessions.
_KEEP = 512


class ToolSchemas:
    """Each tool's bound schema, converted once (by ``convert``: LangChain's own conversion)."""

    def __init__(self, convert: Callable[[BaseTool], dict[str, Any]]) -> None:  # Any: JSON
        self._convert = convert
        # id(tool) -> (tool, schema). The tool is kept so its id is not reused while cached.
        self._seen: OrderedDict[int, tuple[BaseTool, dict[str, Any]]] = OrderedDict()

    def __call__(self, tools: Sequence[Any]) -> list[Any]:  # Any: tool-likes of bind_tools
        """``tools`` with every `BaseTool` replaced by its schema; other kinds as they are."""
        return [self._schema(t) if isinstance(t, BaseTool) else t for t in tools]

    def _schema(self, tool: BaseTool) -> dict[str, Any]:  # Any: JSON
        seen = self._seen.get(id(tool))
        if seen is not None and seen[0] is tool:
            self._seen.move_to_end(id(tool))
            return seen[1]
        schema = self._convert(tool)
        self._seen[id(tool)] = (tool, schema)
        while len(self._seen) > _KEEP:
            self._seen.popitem(last=False)
        return schema
