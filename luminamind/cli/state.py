"""Per-invocation CLI state: global options and the settings built from them once."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import typer

from luminamind.config import Settings, load_settings, load_settings_tolerant
from luminamind.config_problems import SettingProblem
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
    problems: list[SettingProblem] = field(default_factory=list)

    def settings(self) -> Settings:
        """Load the settings once (exits with a clear message if they are invalid)."""
        if self._settings is None:
            configure_logging(level=self.log_level, fmt="console")
            try:
                self._settings = load_settings(workspace=self.workspace)
            except ConfigError as exc:  # every problem at once, with its source
                fail(exc, exit_code=2)
            self._serve_metrics()
        return self._settings

    def tolerant_settings(self) -> tuple[Settings, list[SettingProblem]]:
        """Settings with invalid values at their defaults, and the problems found.

        For commands that must go on and report (doctor, the servers, which tell their client).
        """
        if self._settings is None:
            configure_logging(level=self.log_level, fmt="console")
            try:
                self._settings, self.problems = load_settings_tolerant(workspace=self.workspace)
            except ConfigError as exc:  # a value given on the command line itself
                fail(exc, exit_code=2)
            self._serve_metrics()
        return self._settings, self.problems

    def _serve_metrics(self) -> None:
        port = self._settings.observability.metrics_port if self._settings else None
        if port is not None and not self.metrics_served:
            # observability.metrics_port in the config does what --metrics-port does.
            from luminamind.observability.metrics import serve_metrics

            try:
                serve_metrics(port)
            except LuminaError as exc:
                fail(exc, exit_code=2)
            self.metrics_served = True


def fail(error: LuminaError, *, exit_code: int = 1) -> NoReturn:
    """Print the error on stderr (one line, or the settings' one screen) and exit."""
    sys.stderr.write(f"error: {error.message}\n")
    raise typer.Exit(exit_code)
