"""One registry, one contract: the agent, the MCP server and the CLI publish the same schemas."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from luminamind.agent.tools import langchain_tool
from luminamind.cli.tools_cmd import tool_listing
from luminamind.config import Settings
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import SEED_TOOL_NAMES
from luminamind_mcp.tools import RegistryTools

# LangChain's OpenAI conversion drops these; extra arguments are still refused by the executor.
_DROPPED_BY_LANGCHAIN = {"title", "additionalProperties"}


def _untitled(schema: Any) -> Any:  # Any: a JSON Schema document
    """The schema without the keys LangChain's conversion leaves out."""
    if isinstance(schema, dict):
        return {k: _untitled(v) for k, v in schema.items() if k not in _DROPPED_BY_LANGCHAIN}
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    return schema


def _inlined(schema: dict[str, Any]) -> Any:  # Any: a JSON Schema document
    """The schema with every local $ref replaced by its definition (LangChain inlines them)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:  # Any: a JSON Schema node
        if isinstance(node, dict):
            if "$ref" in node:
                target = walk(defs[node["$ref"].rsplit("/", 1)[-1]])
                return {**target, **{k: walk(v) for k, v in node.items() if k != "$ref"}}
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> ToolRuntime:
    from luminamind.config import load_settings

    ws = tmp_path_factory.mktemp("ws")
    settings: Settings = load_settings(workspace=ws, data_dir=ws / ".data")
    return build_tool_runtime(settings, surface="cli", use_cache=False)


@pytest.mark.parametrize("name", SEED_TOOL_NAMES)
def test_every_surface_publishes_the_registry_schema(runtime: ToolRuntime, name: str) -> None:
    spec = runtime.registry.get(name)
    expected = spec.input_schema()

    cli = tool_listing(spec, runtime.executor.policy)
    assert cli["input_schema"] == expected
    assert cli["output_schema"] == spec.output_schema()

    mcp_tool = next(t for t in RegistryTools(runtime).list() if t.name == name)
    assert mcp_tool.input_schema == expected
    assert mcp_tool.output_schema == spec.output_schema()
    assert mcp_tool.annotations is not None
    assert mcp_tool.annotations.read_only_hint == spec.annotations.read_only
    assert mcp_tool.annotations.destructive_hint == spec.annotations.destructive
    assert mcp_tool.annotations.open_world_hint == spec.annotations.open_world

    agent_tool = langchain_tool(spec, runtime.executor, runtime.context)
    assert agent_tool.name == name
    assert agent_tool.args_schema is spec.args_model, "the agent validates with the same model"
    parameters = convert_to_openai_tool(agent_tool)["function"]["parameters"]
    assert _untitled(parameters) == _untitled(_inlined(expected))


def _bare_type_unions(node: Any, where: str = "") -> list[str]:  # Any: a JSON Schema node
    """Where ``node`` holds an ``anyOf`` of bare types (what output schemas write as lists)."""
    found: list[str] = []
    if isinstance(node, dict):
        branches = node.get("anyOf")
        if isinstance(branches, list) and all(
            isinstance(b, dict) and b.keys() == {"type"} for b in branches
        ):
            found.append(where or "/")
        for key, value in node.items():
            found += _bare_type_unions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _bare_type_unions(value, f"{where}/{i}")
    return found


def test_every_mcp_output_schema_writes_nullable_fields_as_type_lists(runtime: ToolRuntime) -> None:
    from luminamind_mcp.agent_tools import AgentTools

    tools = [*RegistryTools(runtime).list(), *AgentTools(runtime.context.settings).list()]
    assert {"read_file", "run_task", "get_thread"} <= {t.name for t in tools}
    for mcp_tool in tools:
        assert mcp_tool.output_schema is not None, mcp_tool.name
        assert _bare_type_unions(mcp_tool.output_schema) == [], mcp_tool.name
