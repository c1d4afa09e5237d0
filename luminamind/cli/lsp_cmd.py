"""``luminamind lsp``: the language server on stdio."""

from __future__ import annotations

from typing import Annotated

import typer

from luminamind.cli.state import CliState
from luminamind.observability.logging import configure_logging

__all__ = ["register"]


def lsp(
    ctx: typer.Context,
    stdio: Annotated[
        bool,
        typer.Option(
            "--stdio",
            help="Serve on stdin/stdout (the default and only transport; LSP clients such as "
            "vscode-languageclient pass it).",
        ),
    ] = False,
    client_process_id: Annotated[
        int | None,
        typer.Option(
            "--clientProcessId",
            help="The editor's process id, which some clients pass; accepted and unused: the "
            "server ends when the editor closes its stdin.",
        ),
    ] = None,
    pipe: Annotated[
        str | None,
        typer.Option("--pipe", help="Refused with a clear message: only stdio is served."),
    ] = None,
    socket: Annotated[
        int | None,
        typer.Option("--socket", help="Refused with a clear message: only stdio is served."),
    ] = None,
) -> None:
    """Serve the Language Server Protocol on stdin/stdout (editors start this)."""
    del stdio, client_process_id  # stdio is the transport either way
    if pipe is not None or socket is not None:
        transport = f"--pipe={pipe}" if pipe is not None else f"--socket={socket}"
        typer.echo(
            f"luminamind lsp: {transport} is not supported; the server speaks LSP on stdin/stdout "
            "only. Configure the client's transport as stdio (VS Code: TransportKind.stdio).",
            err=True,
        )
        raise typer.Exit(2)
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
