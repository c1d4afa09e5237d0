"""``luminamind lsp``: the language server on stdio."""

from __future__ import annotations

import typer

from luminamind.cli.state import CliState
from luminamind.observability.logging import configure_logging

__all__ = ["register"]


def lsp(ctx: typer.Context) -> None:
    """Serve the Language Server Protocol on stdin/stdout (editors start this)."""
    state: CliState = ctx.obj
    # A broken setting must not kill the server (the editor would only say it crashed): the
    # server starts, shows the problem and answers every command with it.
    settings, problems = state.tolerant_settings()
    # stdout carries the protocol: logs go to stderr as JSON lines the editor can keep.
    log_format = settings.observability.log_format
    configure_logging(level=state.log_level, fmt="json" if log_format == "auto" else log_format)
    from luminamind_lsp import serve_stdio  # noqa: TID251 - the one sanctioned, lazy import

    serve_stdio(settings if state.workspace is not None else None, problems)


def register(app: typer.Typer) -> None:
    """Attach ``lsp`` to the main app."""
    app.command("lsp")(lsp)
