"""The cached token counter gives exactly LangChain's approximate count, whatever the history."""

from __future__ import annotations

import random
from functools import partial

import pytest
from langchain.agents.middleware import SummarizationMiddleware
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import MessageLikeRepresentation, count_tokens_approximately

from luminamind.agent.tokens import CachedTokenCounter, cached_counter_for


def _message(rng: random.Random, i: int, provider: str | None) -> BaseMessage:
    text = "x" * rng.randrange(0, 400)
    kind = rng.randrange(5)
    if kind == 0:
        return HumanMessage(content=text, id=f"h{i}")
    if kind == 1:
        return ToolMessage(content=text, tool_call_id=f"call_{i}", id=f"t{i}")
    if kind == 2:
        return SystemMessage(content=[{"type": "text", "text": text}, {"type": "image_url"}])
    usage = None
    if rng.random() < 0.5:
        total = rng.randrange(1, 5000)
        usage = {"input_tokens": total, "output_tokens": 0, "total_tokens": total}
    calls = [
        {"name": "lookup", "args": {"key": text[:20]}, "id": f"c{i}", "type": "tool_call"}
        for _ in range(rng.randrange(3))
    ]
    return AIMessage(
        content=text,
        tool_calls=calls,
        usage_metadata=usage,
        response_metadata={"model_provider": provider} if provider else {},
        name="agent" if rng.random() < 0.3 else None,
        id=f"a{i}",
    )


@pytest.mark.parametrize("chars", [4.0, 3.3])
def test_same_count_as_langchain_as_the_history_grows(chars: float) -> None:
    rng = random.Random(17)  # noqa: S311  (test data, not secrets)
    counter = CachedTokenCounter(chars_per_token=chars)
    history: list[BaseMessage] = []
    for i in range(300):
        provider = "anthropic" if i == 250 else "openai"  # a second provider stops the scaling
        history.append(_message(rng, i, provider))
        expected = count_tokens_approximately(
            history, chars_per_token=chars, use_usage_metadata_scaling=True
        )
        assert counter(history) == expected
        assert counter(history[-7:]) == count_tokens_approximately(
            history[-7:], chars_per_token=chars, use_usage_metadata_scaling=True
        )


def test_a_message_given_new_content_is_counted_again() -> None:
    counter = CachedTokenCounter()
    history: list[BaseMessage] = [HumanMessage(content="short", id="h"), AIMessage(content="a")]
    assert counter(history) == count_tokens_approximately(history)
    history[1].content = "a much longer answer " * 50
    assert counter(history) == count_tokens_approximately(history)


def test_message_likes_that_are_not_messages_are_counted_by_langchain() -> None:
    counter = CachedTokenCounter()
    raw: list[MessageLikeRepresentation] = [
        ("user", "hello there"),
        {"role": "assistant", "content": "hi"},
    ]
    assert counter(raw) == count_tokens_approximately(raw, use_usage_metadata_scaling=True)


def test_a_forgotten_message_leaves_the_cache() -> None:
    counter = CachedTokenCounter()
    counter([HumanMessage(content="gone soon")])
    assert counter._counted == {}  # the message was freed with its list


def test_only_the_middlewares_default_counter_is_replaced() -> None:
    default = partial(count_tokens_approximately, use_usage_metadata_scaling=True)
    anthropic = partial(default, chars_per_token=3.3)
    assert cached_counter_for(default) is not None
    cached = cached_counter_for(anthropic)
    assert cached is not None
    assert cached.chars_per_token == 3.3
    assert cached_counter_for(count_tokens_approximately) is None
    assert cached_counter_for(partial(count_tokens_approximately, count_name=False)) is None


def test_the_summarisation_middleware_default_is_recognised() -> None:
    # If LangChain changes how it builds its default counter, the graph keeps LangChain's.
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    middleware = SummarizationMiddleware(FakeListChatModel(responses=["s"]), trigger=("tokens", 10))
    assert cached_counter_for(middleware.token_counter) is not None


class _CountingLookups(dict[int, object]):
    """The counter's per-message cache, counting look-ups: one per message the loop visits."""

    lookups = 0

    def get(self, key: int, default: object = None) -> object:
        self.lookups += 1
        return super().get(key, default)


def test_a_growing_history_is_counted_from_where_the_last_count_ended() -> None:
    rng = random.Random(5)  # noqa: S311  (test data, not secrets)
    counter = CachedTokenCounter()
    spy = _CountingLookups()
    counter._counted = spy  # type: ignore[assignment]
    history: list[BaseMessage] = []
    for i in range(200):
        history.append(_message(rng, i, "openai"))
        history.append(_message(rng, 1000 + i, "openai"))
        before = spy.lookups
        assert counter(history) == count_tokens_approximately(
            history, use_usage_metadata_scaling=True
        )
        assert spy.lookups - before == 2  # only the two new messages, not the whole history


def test_an_edited_replaced_or_summarised_history_is_counted_again() -> None:
    rng = random.Random(9)  # noqa: S311  (test data, not secrets)
    counter = CachedTokenCounter()
    history = [_message(rng, i, "openai") for i in range(60)]

    def same() -> bool:
        expected = count_tokens_approximately(history, use_usage_metadata_scaling=True)
        return counter(history) == expected

    assert same()
    history[10] = HumanMessage(content="replaced " * 90, id=history[10].id)  # same id, new object
    assert same()
    ai = next(m for m in history[20:] if isinstance(m, AIMessage))
    ai.tool_calls = [
        {"name": "lookup", "args": {"key": "k" * 300}, "id": "new", "type": "tool_call"}
    ]
    assert same()
    history[30].content = "edited in place " * 40
    assert same()
    history = [SystemMessage(content="summary of what came before"), *history[-12:]]
    assert same()
    history.append(HumanMessage(content="and one more"))
    assert same()
