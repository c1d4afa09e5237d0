"""The ``custom`` stream's payloads become the events of the same name, field for field."""

from __future__ import annotations

from typing import get_args, get_type_hints

import pytest
from pydantic import ValidationError

from luminamind.agent.events import SubagentFinished, SubagentStarted, ToolFinished, ToolStarted
from luminamind.agent.payloads import (
    CustomPayload,
    SubagentFinishedPayload,
    SubagentStartedPayload,
    ToolFinishedPayload,
    ToolStartedPayload,
)
from luminamind.agent.streaming import EventTranslator

_EVENTS = {
    e.model_fields["type"].default: e
    for e in (ToolStarted, ToolFinished, SubagentStarted, SubagentFinished)
}


@pytest.mark.parametrize("payload", get_args(CustomPayload))
def test_every_payload_kind_is_an_event_type_with_the_payloads_fields(payload: type) -> None:
    hints = get_type_hints(payload)
    (kind,) = get_args(hints.pop("kind"))
    assert set(hints) <= set(_EVENTS[kind].model_fields)
    # The translator knows the kind: without the fields the event cannot be built.
    with pytest.raises(ValidationError):
        list(EventTranslator("t").translate((), "custom", {"kind": kind}))


def test_payloads_translate_to_their_events() -> None:
    started: ToolStartedPayload = {
        "kind": "tool_started",
        "call_id": "c1",
        "tool": "shell",
        "arguments": {"command": "ls"},
        "agent": "main",
    }
    finished: ToolFinishedPayload = {
        "kind": "tool_finished",
        "call_id": "c1",
        "tool": "shell",
        "status": "error",
        "content": "no",
        "duration_ms": 1.5,
        "agent": "researcher",
    }
    delegated: SubagentStartedPayload = {
        "kind": "subagent_started",
        "call_id": "c2",
        "subagent": "researcher",
        "task": "look",
    }
    report: SubagentFinishedPayload = {
        "kind": "subagent_finished",
        "call_id": "c2",
        "subagent": "researcher",
        "result": "found",
    }
    translator = EventTranslator("t")
    events = [
        e
        for p in (started, finished, delegated, report)
        for e in translator.translate((), "custom", p)
    ]
    assert events == [
        ToolStarted(
            thread_id="t", call_id="c1", tool="shell", arguments={"command": "ls"}, agent="main"
        ),
        ToolFinished(
            thread_id="t",
            call_id="c1",
            tool="shell",
            status="error",
            content="no",
            duration_ms=1.5,
            agent="researcher",
        ),
        SubagentStarted(thread_id="t", call_id="c2", subagent="researcher", task="look"),
        SubagentFinished(thread_id="t", call_id="c2", subagent="researcher", result="found"),
    ]


@pytest.mark.parametrize("kind", ["progress", None, ["tool_started"], 3])
def test_other_custom_chunks_are_not_events(kind: object) -> None:
    assert list(EventTranslator("t").translate((), "custom", {"kind": kind})) == []
