"""Counting a thread's tokens before every model call without re-reading every message.

``SummarizationMiddleware`` decides whether to summarise by counting the whole history's tokens
(``count_tokens_approximately``) before each model call: at message 1,000 that was about a third
of the time each step grew by (bench/agent_overhead.py, "Flat as a thread grows").
`CachedTokenCounter` returns exactly what LangChain's counter returns, but remembers each
message's own count, and the running total over the history it counted last: when the next
call's history starts with those same messages, unchanged, only the messages after them are
counted (the check runs in C: ``map`` over ``operator`` functions, no Python loop per message).
Otherwise each message already seen costs a dictionary look-up, a new one the full count.
Written here because LangChain has no incremental counter; the per-message count is still
LangChain's own function.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

__all__ = ["CachedTokenCounter", "cached_counter_for"]


@dataclass(frozen=True, slots=True)
class _Counted:
    ref: weakref.ref[BaseMessage]
    content: object  # the message's content and tool calls when counted: replaced -> recount
    tool_calls: object
    tokens: int  # LangChain's approximate count of this message alone
    is_ai: bool
    provider: Any  # Any: response_metadata["model_provider"], whatever the provider put there
    total_tokens: int | None  # the provider's reported usage, for LangChain's scaling


@dataclass(frozen=True, slots=True)
class _Running:
    """The count's running state after some messages (what the next message adds to)."""

    token_count: float = 0.0
    provider: Any = None  # Any: see _Counted.provider
    mixed: bool = False
    last_total: int | None = None
    at_last_total: float = 0.0


_EMPTY = _Running()
_CONTENT = operator.attrgetter("content")
_TOOL_CALLS = operator.attrgetter("tool_calls")


@dataclass(frozen=True, slots=True)
class _Prefix:
    """The history counted last, held weakly, and the running state at its end.

    A next history that starts with the same live message objects, whose content (and, for AI
    messages, tool calls) are the same objects, continues from ``running``.
    """

    refs: tuple[weakref.ref[BaseMessage], ...]
    contents: tuple[object, ...]
    ai_refs: tuple[weakref.ref[BaseMessage], ...]
    ai_tool_calls: tuple[object, ...]
    running: _Running

    def continues_in(self, items: list[Any]) -> bool:  # Any: LangChain's message-likes
        n = len(self.refs)
        if n == 0 or len(items) < n:
            return False
        # Dead references give None, which is no message: the history moved on.
        if not all(map(operator.is_, islice(items, n), map(operator.call, self.refs))):
            return False
        head = islice(items, n)  # the very objects counted last: alive, held by ``items``
        if not all(map(operator.is_, map(_CONTENT, head), self.contents)):
            return False
        ai_now = map(_TOOL_CALLS, map(operator.call, self.ai_refs))
        return all(map(operator.is_, ai_now, self.ai_tool_calls))


_NO_PREFIX = _Prefix((), (), (), (), _EMPTY)


class CachedTokenCounter:
    """``count_tokens_approximately(messages, use_usage_metadata_scaling=True, ...)``, cached.

    The total is the sum of each message's own count (LangChain rounds per message so that they
    add up), scaled as LangChain scales it: by the last AI message's reported total over the
    approximate count up to it, clamped to [1, 1.25], when every AI message has the same
    ``model_provider``. A message's count is kept while the message object lives (a weak
    reference) and its content and tool calls are the same objects; a message rebuilt or given
    new content is counted again.
    """

    def __init__(self, *, chars_per_token: float = 4.0) -> None:
        self.chars_per_token = chars_per_token
        self._counted: dict[int, _Counted] = {}
        self._last: _Prefix = _NO_PREFIX

    def _forget(self, key: int, ref: weakref.ref[BaseMessage]) -> None:
        entry = self._counted.get(key)
        if entry is not None and entry.ref is ref:
            del self._counted[key]

    def _count(self, message: BaseMessage) -> _Counted:
        key = id(message)
        is_ai = isinstance(message, AIMessage)
        total = None
        if isinstance(message, AIMessage) and message.usage_metadata:
            reported = message.usage_metadata.get("total_tokens")
            total = reported if isinstance(reported, int) else None
        entry = _Counted(
            ref=weakref.ref(message, partial(self._forget, key)),
            content=message.content,
            tool_calls=message.tool_calls if isinstance(message, AIMessage) else None,
            tokens=count_tokens_approximately([message], chars_per_token=self.chars_per_token),
            is_ai=is_ai,
            provider=message.response_metadata.get("model_provider") if is_ai else None,
            total_tokens=total,
        )
        self._counted[key] = entry
        return entry

    def __call__(self, messages: Iterable[Any]) -> int:  # Any: LangChain's message-likes
        items = messages if isinstance(messages, list) else list(messages)
        last = self._last
        start, running = (len(last.refs), last.running) if last.continues_in(items) else (0, _EMPTY)
        counted = self._counted
        token_count = running.token_count
        provider: Any = running.provider
        mixed = running.mixed
        last_total = running.last_total
        at_last_total = running.at_last_total
        refs: list[weakref.ref[BaseMessage]] = []
        ai: list[BaseMessage] = []
        for message in islice(items, start, None):
            # The loop runs over the messages new since the last call (the whole history when
            # it is another one): the hit path is kept to a look-up and three identity checks.
            entry = counted.get(id(message))
            if (
                entry is None
                or entry.ref() is not message
                or entry.content is not message.content
                or (entry.is_ai and entry.tool_calls is not message.tool_calls)
            ):
                if not isinstance(message, BaseMessage):
                    # dicts, tuples, strings: LangChain's own conversion (never the state's)
                    return count_tokens_approximately(
                        items, chars_per_token=self.chars_per_token, use_usage_metadata_scaling=True
                    )
                entry = self._count(message)
            refs.append(entry.ref)
            token_count += entry.tokens
            if not entry.is_ai:
                continue
            ai.append(message)
            if provider is None:
                provider = entry.provider
            elif entry.provider != provider:
                mixed = True
            if entry.total_tokens is not None:
                last_total, at_last_total = entry.total_tokens, token_count
        kept = last if start else _NO_PREFIX
        self._last = _Prefix(
            refs=kept.refs + tuple(refs),
            contents=kept.contents + tuple(map(_CONTENT, islice(items, start, None))),
            ai_refs=kept.ai_refs + tuple(counted[id(m)].ref for m in ai),
            ai_tool_calls=kept.ai_tool_calls + tuple(map(_TOOL_CALLS, ai)),
            running=_Running(token_count, provider, mixed, last_total, at_last_total),
        )
        scaled = len(items) > 1 and not mixed and provider is not None
        if scaled and last_total is not None and at_last_total > 0:
            token_count *= min(1.25, max(1.0, last_total / at_last_total))
        return math.ceil(token_count)


def cached_counter_for(counter: Any) -> CachedTokenCounter | None:  # Any: a TokenCounter
    """The cached equivalent of the middleware's default counter, or None for any other one.

    ``SummarizationMiddleware`` sets its default counter to ``partial(count_tokens_approximately,
    use_usage_metadata_scaling=True[, chars_per_token=...])`` (3.3 characters per token for
    Anthropic models, 4 otherwise).
    """
    if not isinstance(counter, partial) or counter.func is not count_tokens_approximately:
        return None
    keywords = dict(counter.keywords)
    if counter.args or keywords.pop("use_usage_metadata_scaling", False) is not True:
        return None
    chars = keywords.pop("chars_per_token", 4.0)
    if keywords:
        return None
    return CachedTokenCounter(chars_per_token=chars)
