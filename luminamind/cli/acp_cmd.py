"""``luminamind acp``: the Agent Client Protocol agent on stdio (Zed, JetBrains, Neovim, Emacs)."""

from __future__ import annotations

import typer

from luminamind.cli.state import CliState
from luminamind.observability.logging import configure_logging
from luminamind.startup import paused_gc

__all__ = ["register"]


def acp(ctx: typer.Context) -> None:
    """Serve the Agent Client Protocol on stdin/stdout (editors start this as their agent).

    Each session's folder (the editor's project) is its workspace. Logs go to stderr as JSON.
    """
    state: CliState = ctx.obj
    # A broken setting must not kill the agent (the editor would only say it exited): it starts,
    # lists the problems in each new session and reports them on the turns that need them.
    settings, problems = state.tolerant_settings()
    log_format = settings.observability.log_format
    configure_logging(level=state.log_level, fmt="json" if log_format == "auto" else log_format)
    with paused_gc(freeze=True):
        from luminamind_acp import serve_stdio  # noqa: TID251 - the one sanctioned, lazy import

    try:
        serve_stdio(settings, problems)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    """Attach ``acp`` to the main app."""
    app.command("acp")(acp)
