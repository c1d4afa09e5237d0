"""The session modes an editor offers in its mode picker (``session/set_mode``)."""

from __future__ import annotations

from typing import Literal, get_args

from acp.schema import SessionMode, SessionModeState

__all__ = ["DEFAULT_MODE", "MODES", "ModeId", "changes_files", "is_mode", "mode_state"]

ModeId = Literal["ask", "accept_edits", "plan"]
DEFAULT_MODE: ModeId = "ask"

MODES: tuple[SessionMode, ...] = (
    SessionMode(
        id="ask",
        name="Ask before changes",
        description="Ask before every file change and command (the approval policy applies).",
    ),
    SessionMode(
        id="accept_edits",
        name="Accept edits",
        description="File edits are applied without asking; commands still ask.",
    ),
    SessionMode(
        id="plan",
        name="Plan only (read-only)",
        description="Read, search and plan; every change is refused.",
    ),
)

# Tools whose only effect is a file change (their approval carries a diff).
_FILE_TOOLS = frozenset(
    {"write_file", "multi_replace_in_file", "apply_patch", "copy_file", "delete_file"}
)


def is_mode(value: str) -> bool:
    """Whether ``value`` names one of `MODES`."""
    return value in get_args(ModeId)


def changes_files(tool: str) -> bool:
    """Whether ``tool`` is a file edit ("accept edits" approves it without asking)."""
    return tool in _FILE_TOOLS


def mode_state(current: ModeId) -> SessionModeState:
    """The modes and the current one, as ``session/new`` and ``session/load`` return them."""
    return SessionModeState(current_mode_id=current, available_modes=list(MODES))
