"""LuminaMind's exception hierarchy.

Every error a user can meet is one of these, and its message says what happened and what to do::

    LuminaError
    ├── ConfigError
    ├── ToolError
    │   ├── UnknownToolError
    │   ├── ToolArgumentsError
    │   ├── ToolExecutionError
    │   ├── ToolNotConfiguredError
    │   └── ToolPermissionError
    │       ├── ApprovalRequiredError
    │       └── ToolRejectedError
    ├── SecurityError
    │   ├── PathEscapeError
    │   ├── ReadOnlyPathError
    │   ├── CommandBlockedError
    │   └── UrlBlockedError
    ├── ProviderError
    │   ├── ProviderTimeoutError
    │   ├── ProviderRateLimitError
    │   └── ProviderUnavailableError
    ├── CheckpointError
    ├── ThreadNotFoundError
    ├── ReviewError
    │   ├── HunkDecisionError
    │   ├── HunkEditError
    │   ├── ProposalChangedError
    │   └── ProposalNotPendingError
    └── RewindError
        ├── TurnNotFoundError
        ├── RewindConflictError
        └── RewindRefusedError

Boundaries (agent, MCP, LSP, CLI) catch `LuminaError` and convert it once; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

__all__ = [
    "ApprovalRequiredError",
    "CheckpointError",
    "CommandBlockedError",
    "ConfigError",
    "HunkDecisionError",
    "HunkEditError",
    "LuminaError",
    "PathEscapeError",
    "ProposalChangedError",
    "ProposalNotPendingError",
    "ProviderError",
    "ProviderRateLimitError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "ReadOnlyPathError",
    "ReviewError",
    "RewindConflictError",
    "RewindError",
    "RewindRefusedError",
    "SecurityError",
    "ThreadNotFoundError",
    "ToolArgumentsError",
    "ToolError",
    "ToolExecutionError",
    "ToolNotConfiguredError",
    "ToolPermissionError",
    "ToolRejectedError",
    "TurnNotFoundError",
    "UnknownToolError",
    "UrlBlockedError",
]


class LuminaError(Exception):
    """Base of every error LuminaMind raises on purpose.

    Attributes:
        code: a stable, machine-readable name for the kind of error (used in JSON output).
    """

    code: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready description for structured outputs."""
        return {"error": self.code, "message": self.message}


class ConfigError(LuminaError):
    """The configuration is missing or invalid; the message names the setting to fix."""

    code = "config_error"


class ToolError(LuminaError):
    """A tool could not do what was asked."""

    code = "tool_error"


class UnknownToolError(ToolError):
    """No tool has that name."""

    code = "unknown_tool"


class ToolArgumentsError(ToolError):
    """The arguments do not match the tool's schema.

    Attributes:
        fields: the offending fields as dotted paths, in the order pydantic reported them.
    """

    code = "invalid_arguments"

    def __init__(self, message: str, *, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "fields": list(self.fields)}


class ToolExecutionError(ToolError):
    """The tool ran and failed (file missing, patch does not apply, command failed to start...)."""

    code = "tool_failed"


class ToolNotConfiguredError(ToolError):
    """The tool exists but cannot run with the current configuration."""

    code = "tool_not_configured"


class ToolPermissionError(ToolError):
    """The approval policy does not allow this call."""

    code = "permission_denied"


class ApprovalRequiredError(ToolPermissionError):
    """The call needs a human approval that the caller has not given."""

    code = "approval_required"


class ToolRejectedError(ToolPermissionError):
    """A human (or the policy for when none can be asked) refused the call; nothing ran."""

    code = "rejected"


class SecurityError(LuminaError):
    """A security rule refused the request. Nothing was read, written, run or fetched."""

    code = "security_error"


class PathEscapeError(SecurityError):
    """A path resolves outside the workspace roots (or is malformed)."""

    code = "path_outside_workspace"


class ReadOnlyPathError(SecurityError):
    """A write was aimed at a root configured read-only."""

    code = "path_read_only"


class CommandBlockedError(SecurityError):
    """The shell policy refused a command."""

    code = "command_blocked"


class UrlBlockedError(SecurityError):
    """The URL guard refused a URL (scheme, credentials or a non-public address)."""

    code = "url_blocked"


class ProviderError(LuminaError):
    """The language-model provider failed."""

    code = "provider_error"


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time."""

    code = "provider_timeout"


class ProviderRateLimitError(ProviderError):
    """The provider answered 429 after every retry."""

    code = "provider_rate_limited"


class ProviderUnavailableError(ProviderError):
    """The provider's circuit is open or its endpoint cannot be reached."""

    code = "provider_unavailable"


class CheckpointError(LuminaError):
    """The checkpointer (SQLite or Redis) failed; the thread is unchanged."""

    code = "checkpoint_error"


class ThreadNotFoundError(LuminaError):
    """No thread has that id."""

    code = "thread_not_found"


class ReviewError(LuminaError):
    """A review of a proposed change (hunk by hunk) cannot be carried out; nothing was written."""

    code = "review_error"


class HunkDecisionError(ReviewError):
    """The per-hunk decisions do not fit the proposal (a hunk undecided, twice, or unknown)."""

    code = "invalid_hunk_decision"


class HunkEditError(ReviewError):
    """An edited hunk cannot be used: it no longer applies, or the hunk cannot be edited."""

    code = "hunk_edit_invalid"


class ProposalChangedError(ReviewError):
    """A file changed on disk since the proposal was shown; it must be reviewed again."""

    code = "proposal_changed"


class ProposalNotPendingError(ReviewError):
    """The decision answers a proposal that is no longer waiting (decided, or superseded)."""

    code = "proposal_not_pending"


class RewindError(LuminaError):
    """A thread cannot be rewound as asked; no file and no checkpoint was changed."""

    code = "rewind_error"


class TurnNotFoundError(RewindError):
    """The thread has no recorded turn with that number (never run, already rewound, pruned)."""

    code = "turn_not_found"


class RewindConflictError(RewindError):
    """Files cannot be restored as they are: changed after the agent, unrecorded or not a file.

    Attributes:
        paths: the workspace-relative paths in question, each with the reason.
    """

    code = "rewind_conflict"

    def __init__(self, message: str, *, paths: Mapping[str, str]) -> None:
        super().__init__(message)
        self.paths = dict(paths)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "paths": self.paths}


class RewindRefusedError(RewindError):
    """The thread cannot be rewound now: it is running, or it belongs to another workspace."""

    code = "rewind_refused"


def format_validation_errors(errors: Sequence[Mapping[str, object]]) -> tuple[str, list[str]]:
    """Turn pydantic's error list into one readable sentence and the list of field paths."""
    parts: list[str] = []
    fields: list[str] = []
    for err in errors:
        loc = err.get("loc", ())
        field = ".".join(str(p) for p in loc) if isinstance(loc, tuple | list) else str(loc)
        field = field or "(arguments)"
        fields.append(field)
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return "; ".join(parts), fields
