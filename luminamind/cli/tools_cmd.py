"""``luminamind tools``: list the registry, and call one tool directly."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from luminamind.cli.state import CliState, fail
from luminamind.errors import (
    ApprovalRequiredError,
    LuminaError,
    ToolArgumentsError,
    UnknownToolError,
)
from luminamind.runtime import build_tool_runtime
from luminamind.tools.approval import ApprovalPolicy
from luminamind.tools.arguments import loads_arguments
from luminamind.tools.catalog import build_default_registry
from luminamind.tools.registry import ToolRegistry, ToolSpec

__all__ = ["markdown_table", "register", "tool_listing"]

tools_app = typer.Typer(help="List the tools, or call one directly.", no_args_is_help=False)


def tool_listing(spec: ToolSpec, policy: ApprovalPolicy) -> dict[str, Any]:
    """One tool as ``luminamind tools --json`` shows it."""
    return {
        "name": spec.name,
        "family": spec.family,
        "description": spec.description,
        "annotations": spec.annotations.as_dict(),
        "approval": policy.mode_for(spec),
        "input_schema": spec.input_schema(),
        "output_schema": spec.output_schema(),
    }


@tools_app.callback(invoke_without_command=True)
def list_tools(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print schemas as JSON.")] = False,
    as_markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (the README's).")
    ] = False,
) -> None:
    """List every tool with its annotations and approval mode."""
    if ctx.invoked_subcommand is not None:
        return
    state: CliState = ctx.obj
    policy = ApprovalPolicy(state.settings().approvals)
    registry = build_default_registry()
    if as_json:
        payload = [tool_listing(spec, policy) for spec in registry]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if as_markdown:
        sys.stdout.write(markdown_table(registry, policy))
        return
    # rich loads here, not with the module: `luminamind mcp` registers this command too.
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"LuminaMind tools ({len(registry)})")
    for column in ("tool", "family", "what it does", "flags", "approval"):
        table.add_column(column)
    for spec in registry:
        table.add_row(spec.name, spec.family, spec.summary(), _flags(spec), policy.mode_for(spec))
    Console().print(table)


def _flags(spec: ToolSpec) -> str:
    ann = spec.annotations
    pairs = (
        ("read-only", ann.read_only),
        ("destructive", ann.destructive),
        ("network", ann.open_world),
        ("cached", ann.cacheable),
    )
    return ", ".join(flag for flag, on in pairs if on)


def markdown_table(registry: ToolRegistry, policy: ApprovalPolicy) -> str:
    """The tool table as Markdown (README.md embeds it; a test keeps the two in step)."""
    lines = [
        "| tool | family | what it does | flags | approval |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in registry:
        summary = spec.summary().replace("|", "\\|")
        row = [f"`{spec.name}`", spec.family, summary, _flags(spec), policy.mode_for(spec)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


@tools_app.command("call")
def call_tool(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tool name, e.g. read_file.")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve a tool that needs approval.")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the result cache.")] = False,
) -> None:
    """Call one tool and print its structured result as JSON.

    Exit codes: 0 success, 1 tool error, 2 bad arguments or unknown tool.
    """
    state: CliState = ctx.obj
    try:
        arguments = loads_arguments(args, source="--args")
    except ToolArgumentsError as exc:
        fail(exc, exit_code=2)
    runtime = build_tool_runtime(state.settings(), surface="cli", use_cache=not no_cache)
    approved = yes
    try:
        spec = runtime.registry.get(name)
        runtime.executor.validate(name, arguments)
        mode = runtime.executor.policy.mode_for_call(spec, arguments, runtime.context.workspace)
        if mode == "ask" and not yes and sys.stdin.isatty():
            approved = typer.confirm(f"Run {name} with {json.dumps(arguments)}?", default=False)
        result = runtime.executor.call(
            name, arguments, context=runtime.context, approved=approved, use_cache=not no_cache
        )
    except (UnknownToolError, ToolArgumentsError) as exc:
        _print_error(exc)
        raise typer.Exit(2) from None
    except ApprovalRequiredError as exc:
        _print_error(exc)
        raise typer.Exit(1) from None
    except LuminaError as exc:
        _print_error(exc)
        raise typer.Exit(1) from None
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


def _print_error(exc: LuminaError) -> None:
    sys.stdout.write(json.dumps(exc.to_dict(), indent=2) + "\n")
    sys.stderr.write(f"error: {exc.message}\n")


def register(app: typer.Typer) -> None:
    """Attach ``tools`` to the main app."""
    app.add_typer(tools_app, name="tools")
