"""The ``luminamind`` command: the composition root for every surface."""

from __future__ import annotations

from luminamind.cli.app import app, main

__all__ = ["app", "main"]
