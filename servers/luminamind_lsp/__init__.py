"""LuminaMind's language server (pygls): agent commands inside any LSP editor."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from luminamind.config import Settings
from luminamind.config_problems import SettingProblem
from luminamind_lsp import commands, features, guarded_io, rewind_command, thread_commands
from luminamind_lsp.server import LuminaLanguageServer

# Every command the server registers (and advertises in ``executeCommandProvider``).
COMMANDS = commands.COMMANDS + thread_commands.THREAD_COMMANDS + rewind_command.REWIND_COMMANDS

__all__ = ["COMMANDS", "LuminaLanguageServer", "build_server", "serve_stdio"]


def build_server(
    settings: Settings | None = None, problems: Sequence[SettingProblem] = ()
) -> LuminaLanguageServer:
    """A language server with every feature and command registered."""
    server = LuminaLanguageServer(settings=settings, problems=problems)
    features.register_features(server)
    commands.register_commands(server)
    thread_commands.register_thread_commands(server)
    guarded_io.register_invalid_message(server)
    rewind_command.register_rewind_command(server)
    return server


def serve_stdio(settings: Settings | None = None, problems: Sequence[SettingProblem] = ()) -> None:
    """Serve LSP over stdin/stdout until the client exits (``problems``: reported to it)."""
    # GuardedStdin: a body too deep for json.loads becomes an error reply, not a traceback.
    build_server(settings, problems).start_io(guarded_io.GuardedStdin(sys.stdin.buffer))  # type: ignore[arg-type]
