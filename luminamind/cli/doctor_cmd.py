"""``luminamind doctor``: what is configured, what is reachable, what is missing."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated

import typer

from luminamind import __version__
from luminamind.cli.state import CliState
from luminamind.config import Settings, user_config_path

__all__ = ["Check", "register", "run_checks"]


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def _check_workspace(settings: Settings) -> Check:
    ws = settings.workspace
    return Check("workspace", ws.is_dir(), str(ws))


def _check_data_dir(settings: Settings) -> Check:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("data dir", False, f"{settings.data_dir}: {exc}")
    return Check("data dir", True, str(settings.data_dir))


def _check_config(settings: Settings) -> Check:
    path = user_config_path()
    detail = f"{path} ({'found' if path.exists() else 'not present; defaults used'})"
    return Check("user config", True, detail)


def _check_binaries(settings: Settings) -> Check:
    from luminamind.tools.rg import find_rg

    rg = find_rg()
    found = {name: shutil.which(name) for name in ("git", "python3")}
    missing = [n for n, p in found.items() if p is None]
    detail = f"rg={rg or 'missing'}; " + ", ".join(
        f"{n}={p or 'missing'}" for n, p in found.items()
    )
    return Check("binaries", rg is not None and not missing, detail)


def _check_sandbox(settings: Settings) -> Check:
    from luminamind.security.sandbox import sandbox_status

    status = sandbox_status()
    if not settings.shell.sandbox:
        return Check("shell sandbox", False, "off (shell.sandbox = false): not sandboxed")
    detail = status.describe()
    if status.available and not settings.shell.sandbox_network:
        detail += "; network denied (shell.sandbox_network = false)"
    if not status.available and settings.shell.require_sandbox:
        detail += "; shell.require_sandbox = true, so the shell tool refuses every command"
    return Check("shell sandbox", status.available, detail)


def _check_model(settings: Settings) -> Check:
    from luminamind.errors import ConfigError
    from luminamind.providers import build_chat_model, resolve_model_spec

    try:
        spec = resolve_model_spec(settings)
        build_chat_model(settings)
    except ConfigError as exc:
        return Check("model", False, exc.message)
    return Check("model", True, f"{spec} (configured)")


def _check_cache(settings: Settings) -> Check:
    from luminamind.state.cache import build_tool_cache

    if not settings.cache.enabled:
        return Check("tool cache", True, "disabled")
    cache = build_tool_cache(settings)
    backend = settings.cache.backend
    if cache is None:
        return Check("tool cache", False, f"{backend} backend unavailable; tools run uncached")
    return Check("tool cache", True, f"{backend} backend, TTL {settings.cache.ttl_seconds:.0f}s")


_CHECKS: tuple[Callable[[Settings], Check], ...] = (
    _check_workspace,
    _check_data_dir,
    _check_config,
    _check_binaries,
    _check_sandbox,
    _check_model,
    _check_cache,
)


def run_checks(settings: Settings) -> list[Check]:
    """Run every check; a failing check never stops the others."""
    return [check(settings) for check in _CHECKS]


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the configuration, paths, binaries and backends."""
    state: CliState = ctx.obj
    settings, problems = state.tolerant_settings()
    # Every configuration problem first, one row each, then the checks on what is valid.
    checks = [Check("configuration", False, p.one_line()) for p in problems]
    checks += run_checks(settings)
    if as_json:
        sys.stdout.write(json.dumps([asdict(c) for c in checks], indent=2) + "\n")
    else:
        # rich loads here, not with the module: `luminamind mcp` registers this command too.
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"luminamind {__version__} doctor")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail")
        for c in checks:
            status = "[green]ok[/]" if c.ok else "[red]problem[/]"
            detail = c.detail.splitlines()[0] if c.detail else ""
            table.add_row(c.name, status, escape(detail))  # "[model] ..." is not markup
        console = Console(emoji=False)  # ":x:" in a model name is text
        console.print(table)
        for c in checks:
            if "\n" in c.detail:
                console.print(c.detail.split("\n", 1)[1], markup=False, highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach ``doctor`` to the main app."""
    app.command("doctor")(doctor)
