"""The default registry: the seed's sixteen tools, coherent contracts, the README in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from luminamind.cli.tools_cmd import markdown_table
from luminamind.tools import SEED_TOOL_NAMES, ApprovalPolicy, build_default_registry

README = Path(__file__).resolve().parents[3] / "README.md"


def test_all_seed_tools_are_registered() -> None:
    registry = build_default_registry()
    assert set(SEED_TOOL_NAMES) <= set(registry.names())
    assert len(SEED_TOOL_NAMES) == 16


@pytest.mark.parametrize("name", SEED_TOOL_NAMES)
def test_contract_is_coherent(name: str) -> None:
    spec = build_default_registry().get(name)
    schema = spec.input_schema()
    assert schema["type"] == "object"
    assert schema.get("additionalProperties") is False, "unknown arguments must be refused"
    for prop, body in schema.get("properties", {}).items():
        assert body.get("description"), f"{name}.{prop} needs a description the model can read"
    assert spec.output_schema()["type"] == "object"
    assert spec.description.strip(), f"{name} needs a description"
    ann = spec.annotations
    assert not (ann.read_only and ann.destructive)
    assert not (ann.read_only and ann.needs_approval)
    if ann.destructive:
        assert ann.needs_approval or name == "copy_file", f"{name} destroys data without approval"
        # The one tool that asks only sometimes says when, in its annotations.
        assert ann.needs_approval or ann.asks_to_overwrite, f"{name} never asks"


def test_shared_argument_names() -> None:
    registry = build_default_registry()
    props = {spec.name: set(spec.input_schema().get("properties", {})) for spec in registry}
    for name in ("read_file", "write_file", "delete_file", "multi_replace_in_file"):
        assert "path" in props[name]
    assert {"source", "destination"} <= props["copy_file"]
    assert "pattern" in props["grep_search"]
    assert "pattern" in props["file_search"]
    assert "command" in props["shell"]
    assert "url" in props["fetch_as_markdown"]
    assert "url" in props["web_crawl"]
    assert "query" in props["web_search"]


def test_readme_tool_table_matches_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- tools-table:start -->\n(.*?)<!-- tools-table:end -->", text, re.DOTALL)
    assert match, "README.md lost its tools-table markers"
    expected = markdown_table(build_default_registry(), ApprovalPolicy())
    assert match.group(1) == expected, "run: luminamind tools --markdown, and paste into README.md"


def test_building_the_registry_leaves_heavy_libraries_unloaded() -> None:
    # Every server start builds the registry; the web, PDF and system libraries load on a
    # tool's first call instead (hundreds of milliseconds of a cold start otherwise).
    import subprocess
    import sys

    heavy = (
        "httpx",
        "httpcore",
        "trafilatura",
        "lxml",
        "markdownify",
        "charset_normalizer",
        "psutil",
        "pypdf",
    )
    code = (
        "import sys\n"
        "from luminamind.tools import build_default_registry\n"
        "build_default_registry()\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
