"""The surfaces that reach the agent and the tools: one name each, everywhere.

A surface names itself in thread metadata, tool contexts, the audit log, metrics labels and
logs. A new surface (``acp`` was the fifth) adds its name here and nowhere else.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["SURFACES", "Surface"]

Surface = Literal["cli", "mcp", "lsp", "acp"]
"""Where a call or a run comes from."""

SURFACES: tuple[Surface, ...] = get_args(Surface)
