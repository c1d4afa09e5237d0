"""A real LSP client (pytest-lsp) talking to `luminamind lsp` over stdio."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.support.llm_server import ScriptedLLM

BIN = str(Path(sys.executable).parent / "luminamind")
StartClient = Callable[..., Awaitable[LanguageClient]]


@pytest.fixture
def project(workspace_dir: Path) -> Path:
    (workspace_dir / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return workspace_dir


@pytest_asyncio.fixture
async def start_client(
    project: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> AsyncIterator[StartClient]:
    """Start `luminamind lsp` for ``project`` with a client of the given editor's capabilities."""
    started: list[LanguageClient] = []

    async def start(
        editor: str = "visual-studio-code",
        *,
        on_apply: Any = None,
        on_request: Any = None,
        on_review: Any = None,
    ) -> LanguageClient:
        """``on_review``: answer ``luminamind/reviewHunks`` as the Neovim plugin does."""
        client = make_test_lsp_client()
        client.applied_edits: list[lsp.ApplyWorkspaceEditParams] = []  # type: ignore[misc,attr-defined]

        @client.feature(lsp.WORKSPACE_APPLY_EDIT)
        def apply_edit(
            client: LanguageClient, params: lsp.ApplyWorkspaceEditParams
        ) -> lsp.ApplyWorkspaceEditResult:
            client.applied_edits.append(params)  # type: ignore[attr-defined]
            applied = on_apply(params) if on_apply else True
            return lsp.ApplyWorkspaceEditResult(applied=applied)

        @client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
        def message_request(
            client: LanguageClient, params: lsp.ShowMessageRequestParams
        ) -> lsp.MessageActionItem | None:
            title = on_request(params) if on_request else "Apply"
            return lsp.MessageActionItem(title=title) if title else None

        capabilities = client_capabilities(editor)
        if on_review is not None:
            capabilities.experimental = {"luminamind": {"hunkReview": True}}

            @client.feature("luminamind/reviewHunks")
            def review(client: LanguageClient, params: Any) -> Any:  # Any: JSON
                return on_review(params)

        env = {
            **os.environ,
            **llm_server.env(),
            "LUMINAMIND_DATA_DIR": str(tmp_path / "lsp-data"),
            "LUMINAMIND_CACHE__BACKEND": "memory",
        }
        await client.start_io(BIN, "--workspace", str(project), "lsp", env=env, cwd=str(project))
        client.init_result = await client.initialize_session(  # type: ignore[attr-defined]
            lsp.InitializeParams(
                capabilities=capabilities,
                root_uri=project.as_uri(),
                workspace_folders=[lsp.WorkspaceFolder(uri=project.as_uri(), name="project")],
            )
        )
        started.append(client)
        return client

    yield start
    for client in started:
        await client.shutdown_session()
        await client.stop()


async def execute(client: LanguageClient, command: str, argument: Any) -> Any:  # Any: JSON
    """Run a ``luminamind.*`` command and return its JSON result."""
    return await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command=command, arguments=[argument])
    )
