"""The registry and the executor's call path, with tools declared in the test."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from luminamind.config import Settings
from luminamind.errors import (
    ApprovalRequiredError,
    ToolArgumentsError,
    ToolExecutionError,
    ToolPermissionError,
    ToolRejectedError,
    UnknownToolError,
)
from luminamind.observability.audit import AuditLog
from luminamind.tools import ApprovalPolicy, ToolContext, ToolExecutor, ToolRegistry, tool


class Echo(BaseModel):
    text: str
    times: int


@tool(family="system", read_only=True)
async def echo(
    ctx: ToolContext,
    *,
    text: Annotated[str, Field(description="What to repeat")],
    times: Annotated[int, Field(ge=1, le=5, description="How often")] = 1,
) -> Echo:
    """Repeat text.

    More detail for the model.
    """
    return Echo(text=text * times, times=times)


@tool(family="files", destructive=True, needs_approval=True)
async def boom(ctx: ToolContext, *, api_key: str) -> Echo:
    """Always fails."""
    raise RuntimeError(f"kaput with {api_key}")


@pytest.fixture
def context(settings: Settings) -> ToolContext:
    return ToolContext.from_settings(settings)


def test_spec_from_function() -> None:
    assert echo.name == "echo"
    assert echo.summary() == "Repeat text."
    assert echo.annotations.read_only
    assert echo.annotations.idempotent
    schema = echo.input_schema()
    assert schema["required"] == ["text"]
    assert schema["properties"]["times"]["maximum"] == 5
    assert schema["additionalProperties"] is False
    assert echo.output_schema()["properties"]["text"]["type"] == "string"


class Maybe(BaseModel):
    count: int | None
    label: str | None = None
    nested: Echo | None = None


@tool(family="system", read_only=True)
async def maybe(ctx: ToolContext, *, flag: bool | None = None) -> Maybe:
    """Return optional fields."""
    return Maybe(count=None)


def test_nullable_results_are_type_lists_with_the_same_values() -> None:
    schema = maybe.output_schema()
    props = schema["properties"]
    assert props["count"]["type"] == ["integer", "null"]
    assert props["label"]["type"] == ["string", "null"]
    # A model or null stays an anyOf (only bare types merge).
    assert [b.get("type") for b in props["nested"]["anyOf"]] == [None, "null"]
    validator = Draft202012Validator(schema)
    for good in ({"count": None}, {"count": 3, "label": "x"}, {"count": 1, "nested": None}):
        validator.validate(good)
    for bad in ({"count": "3"}, {"count": 1.5}, {"count": None, "label": 2}):
        assert not validator.is_valid(bad), bad
    # Input schemas keep pydantic's anyOf: some providers' function calling rejects type lists.
    assert "anyOf" in maybe.input_schema()["properties"]["flag"]


def test_duplicate_names_fail_fast() -> None:
    with pytest.raises(ValueError, match="already registered"):
        ToolRegistry([echo, echo])


def test_unknown_tool_lists_known_names() -> None:
    with pytest.raises(UnknownToolError, match="known tools: echo"):
        ToolRegistry([echo]).get("nope")


def test_decorator_rejects_bad_declarations() -> None:
    with pytest.raises(TypeError, match="async"):
        tool(family="system")(lambda ctx: None)  # type: ignore[arg-type,return-value]

    async def positional(ctx: ToolContext, text: str) -> Echo:
        raise NotImplementedError

    with pytest.raises(TypeError, match="keyword-only"):
        tool(family="system")(positional)

    async def untyped_result(ctx: ToolContext) -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="pydantic model"):
        tool(family="system")(untyped_result)  # type: ignore[arg-type]


async def test_call_validates_and_runs(context: ToolContext) -> None:
    executor = ToolExecutor(ToolRegistry([echo]))
    result = await executor.acall("echo", {"text": "ab", "times": 2}, context=context)
    assert result == Echo(text="abab", times=2)


@pytest.mark.parametrize(
    ("args", "field"),
    [({}, "text"), ({"text": "a", "extra": 1}, "extra"), ({"text": "a", "times": "many"}, "times")],
)
async def test_bad_arguments_name_the_field(
    context: ToolContext, args: dict[str, object], field: str
) -> None:
    executor = ToolExecutor(ToolRegistry([echo]))
    with pytest.raises(ToolArgumentsError) as info:
        await executor.acall("echo", args, context=context)
    assert field in info.value.fields
    assert field in info.value.message


async def test_non_object_arguments(context: ToolContext) -> None:
    executor = ToolExecutor(ToolRegistry([echo]))
    with pytest.raises(ToolArgumentsError, match="JSON object"):
        await executor.acall("echo", ["text"], context=context)  # type: ignore[arg-type]


async def test_policy_ask_deny_and_unexpected_errors(
    context: ToolContext, settings: Settings
) -> None:
    audit = AuditLog(settings.audit_log_path)
    executor = ToolExecutor(ToolRegistry([echo, boom]), audit=audit)
    with pytest.raises(ApprovalRequiredError):
        await executor.acall("boom", {"api_key": "sk-abcdefghijklmnopqrstuv"}, context=context)
    with pytest.raises(ToolExecutionError, match="kaput"):
        await executor.acall(
            "boom", {"api_key": "sk-abcdefghijklmnopqrstuv"}, context=context, approved=True
        )
    denied = ToolExecutor(ToolRegistry([echo]), policy=ApprovalPolicy({"echo": "deny"}))
    with pytest.raises(ToolPermissionError, match="denied"):
        await denied.acall("echo", {"text": "a"}, context=context, approved=True)

    lines = [json.loads(x) for x in settings.audit_log_path.read_text().splitlines()]
    assert [e["outcome"] for e in lines] == ["approval_required", "tool_failed"]
    raw = settings.audit_log_path.read_text()
    assert "sk-abcdefghijklmnopqrstuv" not in raw, "secrets must be redacted in the audit log"
    assert lines[1]["arguments"]["api_key"] == "[REDACTED]"


def test_sync_call_path(context: ToolContext) -> None:
    executor = ToolExecutor(ToolRegistry([echo]))
    assert executor.call("echo", {"text": "x"}, context=context) == Echo(text="x", times=1)


async def test_sync_call_inside_running_loop(context: ToolContext) -> None:
    executor = ToolExecutor(ToolRegistry([echo]))
    assert executor.call("echo", {"text": "y"}, context=context) == Echo(text="y", times=1)


class Copied(BaseModel):
    copied: bool


@tool(family="files", destructive=True, asks_to_overwrite="destination")
async def put_copy(ctx: ToolContext, *, destination: str) -> Copied:
    """Write a copy to destination (asks only when it exists)."""
    ctx.workspace.resolve(destination).write_text("copy")
    return Copied(copied=True)


def test_asks_to_overwrite_names_an_argument() -> None:
    assert put_copy.annotations.asks_to_overwrite == "destination"
    assert put_copy.annotations.as_dict()["asks_to_overwrite"] == "destination"
    with pytest.raises(TypeError, match="no argument 'target'"):

        @tool(family="files", asks_to_overwrite="target")
        async def bad(ctx: ToolContext, *, destination: str) -> Copied:
            """No such argument."""
            return Copied(copied=False)


async def test_asks_to_overwrite_is_one_rule_for_policy_and_executor(
    context: ToolContext, settings: Settings
) -> None:
    policy = ApprovalPolicy()
    workspace = context.workspace
    assert policy.may_ask(put_copy)
    assert not policy.may_ask(echo)
    assert policy.mode_for_call(put_copy, {"destination": "new.txt"}, workspace) == "auto"
    executor = ToolExecutor(ToolRegistry([put_copy]))
    await executor.acall("put_copy", {"destination": "new.txt"}, context=context)
    assert policy.mode_for_call(put_copy, {"destination": "new.txt"}, workspace) == "ask"
    with pytest.raises(ApprovalRequiredError):
        await executor.acall("put_copy", {"destination": "new.txt"}, context=context)
    # An explicit policy for the tool wins over its annotation.
    trusting = ApprovalPolicy({"put_copy": "auto"})
    assert not trusting.may_ask(put_copy)
    assert trusting.mode_for_call(put_copy, {"destination": "new.txt"}, workspace) == "auto"


async def test_a_rejected_call_does_not_run_and_is_audited_once(
    context: ToolContext, settings: Settings
) -> None:
    executor = ToolExecutor(ToolRegistry([put_copy]), audit=AuditLog(settings.audit_log_path))
    with pytest.raises(ToolRejectedError, match="the user declined") as info:
        await executor.acall(
            "put_copy", {"destination": "x.txt"}, context=context, rejected="the user declined"
        )
    assert info.value.code == "rejected"
    assert not context.workspace.resolve("x.txt").exists()
    (entry,) = [json.loads(x) for x in settings.audit_log_path.read_text().splitlines()]
    assert (entry["tool"], entry["outcome"]) == ("put_copy", "rejected")
    assert "the user declined" in entry["error"]
