"""Per-invocation CLI state: global options and the settings built from them once."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError

from luminamind.config import Settings, load_settings
from luminamind.errors import ConfigError, LuminaError
from luminamind.observability.logging import configure_logging

__all__ = ["CliState", "fail"]


@dataclass
class CliState:
    """Global options, and the settings built from them on first use."""

    workspace: Path | None = None
    log_level: str = "WARNING"
    metrics_served: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Load the settings once (exits with a clear message if they are invalid)."""
        if self._settings is None:
            configure_logging(level=self.log_level, fmt="console")
            try:
                self._settings = load_settings(workspace=self.workspace)
            except ValidationError as exc:
                fail(ConfigError(f"invalid configuration: {exc}"), exit_code=2)
            except OSError as exc:
                fail(ConfigError(f"cannot read configuration: {exc}"), exit_code=2)
            port = self._settings.observability.metrics_port
            if port is not None and not self.metrics_served:
                # observability.metrics_port in the config does what --metrics-port does.
                from luminamind.observability.metrics import serve_metrics

                try:
                    serve_metrics(port)
                except LuminaError as exc:
                    fail(exc, exit_code=2)
                self.metrics_served = True
        return self._settings


def fail(error: LuminaError, *, exit_code: int = 1) -> NoReturn:
    """Print one line on stderr and exit: the CLI's error boundary."""
    sys.stderr.write(f"error: {error.message}\n")
    raise typer.Exit(exit_code)
