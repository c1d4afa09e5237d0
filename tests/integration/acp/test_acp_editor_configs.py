"""The editor configurations in editor-configs/ start LuminaMind's ACP agent as written.

Zed's and JetBrains' entries are run exactly as the editors run them (command, args, env), with
the SDK's client doing the ``initialize`` handshake; the Neovim and Emacs snippets are checked
to start the same command.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from acp import spawn_agent_process

from tests.support.acp_editor import BIN, EditorClient
from tests.support.server_home import server_env

CONFIGS = Path(__file__).resolve().parents[3] / "editor-configs"


def _jsonc(path: Path) -> Any:
    # Zed's settings are JSON with // comments (none inside strings in our file).
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")
    )
    return json.loads(text)


@pytest.mark.slow
@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(
            lambda: _jsonc(CONFIGS / "zed/settings.json")["agent_servers"]["LuminaMind"], id="zed"
        ),
        pytest.param(
            lambda: json.loads((CONFIGS / "jetbrains/acp.json").read_text())["agent_servers"][
                "LuminaMind"
            ],
            id="jetbrains",
        ),
    ],
)
async def test_zed_and_jetbrains_entries_start_the_agent(entry: Any, tmp_path: Path) -> None:
    config = entry()
    assert config["command"] == "luminamind"
    # The executable the user has on PATH is this checkout's.
    env = server_env(tmp_path, config.get("env") or {})
    async with spawn_agent_process(
        EditorClient(),  # type: ignore[arg-type]  # implements the methods the handshake needs
        str(BIN),
        *config["args"],
        env=env,
        cwd=tmp_path,
    ) as (conn, _process):
        response = await conn.initialize(protocol_version=1)
    assert response.agent_info is not None
    assert response.agent_info.name == "luminamind"


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("neovim/codecompanion.lua", r'default = \{ "luminamind", "acp" \}'),
        ("neovim/avante.lua", r'command = "luminamind".*\n\s*args = \{ "acp" \}'),
        ("emacs/agent-shell.el", r"'\(\"luminamind\" \"acp\"\)"),
    ],
)
def test_neovim_and_emacs_snippets_start_luminamind_acp(path: str, pattern: str) -> None:
    assert re.search(pattern, (CONFIGS / path).read_text())
