"""Which tool calls need a human: the per-tool approval policy.

Defaults come from each tool's annotations: ``needs_approval`` asks for every call,
``asks_to_overwrite`` for the calls whose path already exists (``copy_file`` over a file); the
settings' ``approvals`` table overrides them per tool with ``auto``, ``ask`` or ``deny``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from luminamind.config import ApprovalMode
from luminamind.security.workspace import Workspace
from luminamind.tools.registry import ToolSpec

__all__ = ["ApprovalPolicy"]


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """Decides ``auto``, ``ask`` or ``deny`` for a tool call."""

    overrides: Mapping[str, ApprovalMode] = field(default_factory=dict)

    def mode_for(self, spec: ToolSpec) -> ApprovalMode:
        """The static mode of a tool, before looking at its arguments."""
        if spec.name in self.overrides:
            return self.overrides[spec.name]
        return "ask" if spec.annotations.needs_approval else "auto"

    def may_ask(self, spec: ToolSpec) -> bool:
        """Whether some call of the tool can need a human (so surfaces must be ready to ask)."""
        mode = self.mode_for(spec)
        return mode == "ask" or (mode == "auto" and self._guards_overwrites(spec))

    def mode_for_call(
        self, spec: ToolSpec, arguments: Mapping[str, Any], workspace: Workspace
    ) -> ApprovalMode:
        """The mode for one call: one that would overwrite (``asks_to_overwrite``) asks."""
        mode = self.mode_for(spec)
        if mode == "auto" and self._guards_overwrites(spec):
            guarded = spec.annotations.asks_to_overwrite
            assert guarded is not None  # _guards_overwrites checked it
            if _exists(arguments.get(guarded), workspace):
                return "ask"
        return mode

    def _guards_overwrites(self, spec: ToolSpec) -> bool:
        # An explicit policy for the tool wins over its annotation.
        return spec.annotations.asks_to_overwrite is not None and spec.name not in self.overrides


def _exists(path: object, workspace: Workspace) -> bool:
    if not isinstance(path, str):
        return False
    try:
        return workspace.resolve(path).exists()
    except Exception:  # a path outside the workspace: the call itself reports it
        return False
