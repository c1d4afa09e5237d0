"""The runtime context injected into every tool call (left out of the tools' schemas)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from luminamind.config import Settings
from luminamind.security.workspace import Workspace
from luminamind.surfaces import Surface
from luminamind.tools.editor import Editor, EditorRegistry

__all__ = ["ProgressCallback", "ToolContext"]

# Reports progress of long tools: (done, total or None, message).
ProgressCallback = Callable[[float, float | None, str], Awaitable[None]]


async def _no_progress(done: float, total: float | None, message: str) -> None:
    del done, total, message


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may use besides its arguments.

    Attributes:
        workspace: the roots paths are confined to; resolve every path through it.
        settings: the whole configuration (limits, shell policy, web providers...).
        thread_id: the agent thread the call belongs to, when there is one.
        surface: who called (``cli``, ``agent``, ``mcp``, ``lsp``), for the audit log and metrics.
        progress: awaited by long tools to report progress.
        editors: the editors threads run in (ACP); file and shell tools go through the
            thread's editor when it has one (see `luminamind.tools.editor`).
    """

    workspace: Workspace
    settings: Settings
    thread_id: str | None = None
    surface: Surface = "cli"
    progress: ProgressCallback = field(default=_no_progress)
    editors: EditorRegistry | None = None

    @property
    def editor(self) -> Editor | None:
        """The editor this call's thread runs in, if any."""
        return self.editors.get(self.thread_id) if self.editors is not None else None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        surface: Surface = "cli",
        thread_id: str | None = None,
        editors: EditorRegistry | None = None,
    ) -> ToolContext:
        """Build a context whose workspace comes from the settings."""
        from luminamind.security.workspace import HardlinkPolicy, WorkspaceRoot

        workspace = Workspace(
            settings.workspace,
            extra_roots=[WorkspaceRoot(r.path, r.mode) for r in settings.extra_roots],
            hardlinks=HardlinkPolicy(settings.hardlinks, frozenset(settings.hardlink_dirs)),
        )
        return cls(
            workspace=workspace,
            settings=settings,
            surface=surface,
            thread_id=thread_id,
            editors=editors,
        )
