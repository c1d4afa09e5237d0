"""Tool schemas are built while the graph is built, not in the first model call."""

from __future__ import annotations

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from luminamind.agent.graph import warm_tool_schemas


class _Args(BaseModel):
    key: str


def _lookup(key: str) -> str:
    return key


def test_warming_builds_the_schemas_every_provider_reads_and_langchain_keeps() -> None:
    tool = StructuredTool.from_function(
        _lookup, name="lookup", description="Look a key up.", args_schema=_Args
    )
    assert warm_tool_schemas([tool]) == [tool]
    schema = tool.tool_call_schema
    assert isinstance(schema, type)
    # The same class on the next read (memoized per tool), its JSON schema kept on the class:
    # what a model call's bind_tools would otherwise build the first time.
    assert tool.tool_call_schema is schema
    assert "_json_schema_cache" in schema.__dict__
    assert convert_to_openai_tool(tool)["function"]["parameters"]["properties"] == {
        "key": {"type": "string"}
    }
