"""The Typer application and its global options; each command group lives in its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from luminamind import __version__
from luminamind.cli.state import CliState, fail
from luminamind.errors import LuminaError
from luminamind.observability.logging import configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="luminamind",
    help="LuminaMind: a deep agent for code analysis, web research and software automation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"luminamind {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace root the tools are confined to (default: the current directory).",
            file_okay=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level (logs go to stderr).")] = "WARNING",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus /metrics on this loopback port while running."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    del version
    # Before anything can log: structlog's default would print to stdout, which the stdio
    # protocols own. Commands may switch to JSON, still on stderr.
    configure_logging(level=log_level, fmt="console")
    ctx.obj = CliState(
        workspace=workspace, log_level=log_level, metrics_served=metrics_port is not None
    )
    if metrics_port is not None:
        from luminamind.observability.metrics import serve_metrics

        try:
            serve_metrics(metrics_port)
        except LuminaError as exc:
            fail(exc, exit_code=2)
    from luminamind.observability.tracing import configure_tracing

    configure_tracing()


def _register_commands() -> None:
    # Each command module imports its heavy dependencies inside its commands.
    from luminamind.cli import (
        acp_cmd,
        agent_cmd,
        doctor_cmd,
        lsp_cmd,
        rewind_cmd,
        server_cmd,
        tools_cmd,
    )

    for module in (tools_cmd, doctor_cmd, agent_cmd, rewind_cmd, server_cmd, lsp_cmd, acp_cmd):
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
