"""Which tool calls need a human: the per-tool approval policy.

Defaults come from each tool's ``needs_approval`` annotation (``copy_file`` also asks when its
destination exists); the settings' ``approvals`` table overrides them per tool with ``auto``,
``ask`` or ``deny``.
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

    def mode_for_call(
        self, spec: ToolSpec, arguments: Mapping[str, Any], workspace: Workspace
    ) -> ApprovalMode:
        """The mode for one call: an overwriting ``copy_file`` asks like ``write_file`` does."""
        mode = self.mode_for(spec)
        if mode == "auto" and spec.name not in self.overrides and _overwrites(arguments, workspace):
            return "ask" if spec.name == "copy_file" else mode
        return mode


def _overwrites(arguments: Mapping[str, Any], workspace: Workspace) -> bool:
    destination = arguments.get("destination")
    if not isinstance(destination, str):
        return False
    try:
        return workspace.resolve(destination).exists()
    except Exception:
        return False
