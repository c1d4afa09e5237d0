"""`luminamind tools` and `luminamind doctor` as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from luminamind.tools import SEED_TOOL_NAMES

BIN = Path(sys.executable).parent / "luminamind"


def run(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # never a terminal: approvals must not prompt
        timeout=120,
        env=dict(os.environ),
        check=False,
    )


def test_version(workspace_dir: Path) -> None:
    result = run(workspace_dir, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("luminamind ")


def test_tools_json_lists_every_seed_tool_with_schemas(workspace_dir: Path) -> None:
    result = run(workspace_dir, "tools", "--json")
    assert result.returncode == 0, result.stderr
    listing = {t["name"]: t for t in json.loads(result.stdout)}
    assert set(SEED_TOOL_NAMES) <= set(listing)
    read_file = listing["read_file"]
    assert read_file["annotations"]["read_only"] is True
    assert read_file["input_schema"]["properties"]["path"]
    assert listing["write_file"]["approval"] == "ask"


def test_tools_table(workspace_dir: Path) -> None:
    result = run(workspace_dir, "tools")
    assert result.returncode == 0
    assert "grep_search" in result.stdout


def test_call_prints_the_structured_result(workspace_dir: Path) -> None:
    (workspace_dir / "hello.txt").write_text("one\ntwo\n")
    result = run(workspace_dir, "tools", "call", "read_file", "--args", '{"path": "hello.txt"}')
    assert result.returncode == 0, result.stderr
    assert "one\ntwo" in json.loads(result.stdout)["content"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["call", "nope"], 2, "unknown tool"),
        (["call", "read_file", "--args", "{not json"], 2, "not valid JSON"),
        (["call", "read_file", "--args", "[1]"], 2, "JSON object"),
        (["call", "read_file", "--args", '{"path": 3}'], 2, "path"),
        (["call", "read_file", "--args", '{"path": "x", "bogus": 1}'], 2, "bogus"),
        (["call", "read_file", "--args", '{"path": "../outside"}'], 1, "outside the workspace"),
        (["call", "read_file", "--args", '{"path": "missing.txt"}'], 1, "missing.txt"),
    ],
)
def test_call_errors_have_exit_codes(
    workspace_dir: Path, args: list[str], code: int, message: str
) -> None:
    result = run(workspace_dir, "tools", *args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, "one line on stderr, no traceback"


def test_destructive_call_needs_yes(workspace_dir: Path) -> None:
    args = '{"path": "new.txt", "content": "hi"}'
    refused = run(workspace_dir, "tools", "call", "write_file", "--args", args)
    assert refused.returncode == 1
    assert "needs approval" in refused.stderr
    assert not (workspace_dir / "new.txt").exists()
    done = run(workspace_dir, "tools", "call", "write_file", "--args", args, "--yes")
    assert done.returncode == 0, done.stderr
    assert (workspace_dir / "new.txt").read_text() == "hi"


def test_doctor_reports(workspace_dir: Path) -> None:
    result = run(workspace_dir, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["workspace"]["ok"] is True
    assert checks["binaries"]["ok"] is True
    assert checks["model"]["ok"] is False, "no key is configured in tests"
    assert "GLM_API_KEY" in checks["model"]["detail"]
    assert result.returncode == 1
