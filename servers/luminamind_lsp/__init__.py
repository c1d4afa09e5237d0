"""LuminaMind's language server (pygls): agent commands inside any LSP editor."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from luminamind.config import Settings
from luminamind.config_problems import SettingProblem
from luminamind_lsp.commands import COMMANDS as AGENT_COMMANDS
from luminamind_lsp.commands import register_commands
from luminamind_lsp.features import register_features
from luminamind_lsp.guarded_io import GuardedStdin, register_invalid_message
from luminamind_lsp.rewind_command import REWIND_COMMANDS, register_rewind_command
from luminamind_lsp.server import LuminaLanguageServer
from luminamind_lsp.thread_commands import THREAD_COMMANDS, register_thread_commands

# Every command the server registers (and advertises in ``executeCommandProvider``).
COMMANDS = AGENT_COMMANDS + THREAD_COMMANDS + REWIND_COMMANDS

__all__ = ["COMMANDS", "LuminaLanguageServer", "build_server", "serve_stdio"]


def build_server(
    settings: Settings | None = None, problems: Sequence[SettingProblem] = ()
) -> LuminaLanguageServer:
    """A language server with every feature and command registered."""
    server = LuminaLanguageServer(settings=settings, problems=problems)
    register_features(server)
    register_commands(server)
    register_thread_commands(server)
    register_invalid_message(server)
    register_rewind_command(server)
    return server


def serve_stdio(settings: Settings | None = None, problems: Sequence[SettingProblem] = ()) -> None:
    """Serve LSP over stdin/stdout until the client exits (``problems``: reported to it)."""
    # GuardedStdin: a body too deep for json.loads becomes an error reply, not a traceback.
    build_server(settings, problems).start_io(GuardedStdin(sys.stdin.buffer))  # type: ignore[arg-type]
