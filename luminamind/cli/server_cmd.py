"""``luminamind mcp``: the MCP server over stdio or streamable HTTP.

The server package (``servers/luminamind_mcp``) is imported inside the command, so the rest of
the CLI never loads it (``luminamind`` does not import ``servers/``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from luminamind.cli.state import CliState, fail
from luminamind.errors import ConfigError, LuminaError
from luminamind.startup import paused_gc

__all__ = ["register"]


def mcp_command(
    ctx: typer.Context,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(help="HTTP bind address (default 127.0.0.1; others need a token)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP port (default 8765; 0 picks a free one).")
    ] = None,
    stateless: Annotated[
        bool | None,
        typer.Option(
            "--stateless/--stateful",
            help="HTTP without sessions, for replicas behind a load balancer.",
        ),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace root when the client offers no roots (default: current directory).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Serve every tool (and the agent) to MCP clients over stdio or streamable HTTP.

    The bearer token for HTTP comes from LUMINAMIND_MCP_TOKEN (or server.token in the config).
    Logs go to stderr as JSON lines.
    """
    state: CliState = ctx.obj
    if workspace is not None:
        state.workspace = workspace
    # A broken setting must not kill the server: the client would only see that it died.
    # Calls that need the setting answer with the problem; the rest serve as usual.
    settings, problems = state.tolerant_settings()
    for problem in problems:
        sys.stderr.write(f"luminamind: configuration problem: {problem.one_line()}\n")
    server = settings.server
    overrides = {
        k: v for k, v in (("host", host), ("port", port), ("stateless", stateless)) if v is not None
    }
    if overrides:
        settings.server = server.model_copy(update=overrides)
    # Servers log JSON lines on stderr (stdout is the stdio protocol's). Unless --log-level says
    # otherwise, the HTTP service logs at INFO (start, refusals, each tool call); a stdio server,
    # one per client with its stderr in the client's log pane, stays at the CLI's WARNING.
    from luminamind.observability.logging import configure_logging

    # Compared by name: typer may bring its own copy of click's ParameterSource enum.
    source = ctx.find_root().get_parameter_source("log_level")
    explicit = source is not None and source.name != "DEFAULT"
    log_format = settings.observability.log_format
    configure_logging(
        level=state.log_level if explicit or not http else "INFO",
        # JSON unless the configuration asks otherwise (console lines while developing).
        fmt="json" if log_format == "auto" else log_format,
    )
    if http:
        from luminamind.cli.banner import banner_text, banner_wanted

        if banner_wanted():
            sys.stderr.write(banner_text(settings, problems))
            sys.stderr.flush()
    try:
        # The SDK's import is most of a cold start; no collection passes run over it.
        if http:
            with paused_gc(freeze=True):
                from luminamind_mcp.http import serve_http  # noqa: TID251 - lazy, in the command

            serve_http(settings, problems)
        else:
            with paused_gc(freeze=True):
                from luminamind_mcp.server import serve_stdio  # noqa: TID251 - lazy, in the command

            serve_stdio(settings, problems)
    except ConfigError as exc:
        fail(exc, exit_code=2)
    except LuminaError as exc:
        fail(exc)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    """Attach ``mcp`` to the main app."""
    app.command("mcp")(mcp_command)
