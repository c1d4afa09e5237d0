"""The ``luminamind`` command: the composition root for every surface."""

from __future__ import annotations

from luminamind.startup import import_structlog_without_rich, paused_gc

import_structlog_without_rich()
# Every command starts by importing this package (Typer, settings, logging, the commands):
# no garbage collection passes over that burst of long-lived objects (see luminamind.startup).
with paused_gc(freeze=True):
    from luminamind.cli.app import app, main

__all__ = ["app", "main"]
