"""Tool calls as ACP shows them: kind, title, locations (so the editor follows along), content.

File changes carry ``diff`` content (absolute ``path``, ``oldText``, ``newText``) from the same
preview every surface's approval shows; results carry the tool's text output, bounded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acp.schema import (
    ContentToolCallContent,
    FileEditToolCallContent,
    TerminalToolCallContent,
    TextContentBlock,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    ToolKind,
)

from luminamind.agent.events import (
    ActionRequest,
    FileChange,
    Hunk,
    SubagentFinished,
    SubagentStarted,
    ToolFinished,
    ToolStarted,
)

__all__ = ["ToolCallView", "kind_of", "title_of"]

ToolContent = ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent

_KINDS: dict[str, ToolKind] = {
    "read_file": "read",
    "os_info": "read",
    "write_file": "edit",
    "multi_replace_in_file": "edit",
    "apply_patch": "edit",
    "copy_file": "edit",
    "delete_file": "delete",
    "list_directory": "search",
    "file_search": "search",
    "grep_search": "search",
    "tree_view": "search",
    "shell": "execute",
    "web_search": "fetch",
    "web_crawl": "fetch",
    "fetch_as_markdown": "fetch",
    "get_weather": "fetch",
    "task": "think",
    "write_todos": "think",
}
# What the editor shows of a result; the model sees the tool's own (larger) bound.
_MAX_SHOWN_CHARS = 20_000


def kind_of(tool: str) -> ToolKind:
    """The ACP kind of a tool (``other`` for tools the editor has no icon for)."""
    return _KINDS.get(tool, "other")


def _short(value: object, limit: int = 60) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title_of(tool: str, args: Mapping[str, Any]) -> str:  # Any: the tool's JSON arguments
    """A one-line title: what the call does, in the user's words."""
    path = args.get("path")
    if tool == "read_file" and path:
        return f"Read {path}"
    if tool in {"write_file", "multi_replace_in_file"} and path:
        return f"Edit {path}"
    if tool == "delete_file" and path:
        return f"Delete {path}"
    if tool == "copy_file":
        return f"Copy {args.get('source', '?')} to {args.get('destination', '?')}"
    if tool == "apply_patch":
        return "Apply a patch"
    if tool == "shell":
        return f"Run `{_short(args.get('command', ''))}`"
    if tool in {"grep_search", "file_search"}:
        return f"Search {_short(args.get('pattern') or args.get('query') or '')!r}"
    if tool in {"list_directory", "tree_view"}:
        return f"List {path or '.'}"
    if tool == "web_search":
        return f"Search the web for {_short(args.get('query', ''))!r}"
    if tool in {"web_crawl", "fetch_as_markdown"}:
        return f"Fetch {_short(args.get('url', ''))}"
    if tool == "write_todos":
        return "Update the plan"
    return tool


def _text(text: str) -> ContentToolCallContent:
    if len(text) > _MAX_SHOWN_CHARS:
        text = text[:_MAX_SHOWN_CHARS] + "\n…(cut; the agent saw the whole result)"
    return ContentToolCallContent(type="content", content=TextContentBlock(type="text", text=text))


class ToolCallView:
    """One session's tool calls: which the editor has seen, and the diffs shown for them."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._announced: set[str] = set()
        self._diffs: dict[str, list[ToolContent]] = {}
        self.terminals: dict[str, str] = {}  # call id -> terminal id shown in it

    def _abs(self, path: str) -> str:
        # No file system access: the workspace already confined the path.
        return os.path.normpath(os.path.join(self.cwd, path))

    def locations(
        self, tool: str, args: Mapping[str, Any], files: list[FileChange] | None = None
    ) -> list[ToolCallLocation]:  # Any: the tool's JSON arguments
        """Files (and a line, when known) the call reads or changes."""
        paths: list[str] = [f.path for f in files or []]
        for key in ("path", "source", "destination"):
            value = args.get(key)
            if isinstance(value, str) and value and value not in paths:
                paths.append(value)
        line = args.get("offset") if tool == "read_file" else None
        return [
            ToolCallLocation(path=self._abs(p), line=line if isinstance(line, int) else None)
            for p in paths
        ]

    def _diff_content(self, files: list[FileChange]) -> list[ToolContent]:
        return [
            FileEditToolCallContent(
                type="diff",
                path=self._abs(f.path),
                old_text=f.old_text,
                # A deletion shows as the file becoming empty: ACP's diff has no "deleted".
                new_text=f.new_text if f.new_text is not None else "",
            )
            for f in files
        ]

    def announce(
        self,
        call_id: str,
        tool: str,
        args: Mapping[str, Any],  # Any: the tool's JSON arguments
        *,
        status: str,
        content: list[ToolContent] | None = None,
        files: list[FileChange] | None = None,
    ) -> ToolCallStart | ToolCallProgress:
        """``tool_call`` the first time the editor hears of ``call_id``, then updates."""
        fields: dict[str, Any] = {  # Any: schema field values
            "tool_call_id": call_id,
            "title": title_of(tool, args),
            "kind": kind_of(tool),
            "status": status,
            "locations": self.locations(tool, args, files),
            "raw_input": dict(args),
        }
        if content is not None:
            fields["content"] = content
        if call_id in self._announced:
            return ToolCallProgress(session_update="tool_call_update", **fields)
        self._announced.add(call_id)
        return ToolCallStart(session_update="tool_call", **fields)

    # -- approvals ---------------------------------------------------------------------------

    def pending(self, request: ActionRequest) -> ToolCallStart | ToolCallProgress:
        """The call waiting for approval, with its diff, before the permission request."""
        content = self._diff_content(request.files)
        self._diffs[request.id] = content
        if request.notice:
            content = [*content, _text(request.notice)]
        return self.announce(
            request.id,
            request.tool,
            request.arguments,
            status="pending",
            content=content,
            files=request.files,
        )

    def permission_update(self, request: ActionRequest) -> ToolCallUpdate:
        """The ``toolCall`` of ``session/request_permission`` (its diff included)."""
        content: list[ToolContent] = list(self._diffs.get(request.id) or [])
        if not content:
            content = self._diff_content(request.files)
        return ToolCallUpdate(
            tool_call_id=request.id,
            title=title_of(request.tool, request.arguments),
            kind=kind_of(request.tool),
            status="pending",
            content=content,
            locations=self.locations(request.tool, request.arguments, request.files),
            raw_input=request.arguments,
        )

    def hunk_update(self, request: ActionRequest, hunk: Hunk) -> ToolCallUpdate:
        """The ``toolCall`` of the permission request for one hunk: only that hunk's lines."""
        path = self._abs(hunk.path)
        return ToolCallUpdate(
            tool_call_id=request.id,
            title=(
                f"{title_of(request.tool, request.arguments)}: hunk {hunk.index}/"
                f"{len(request.hunks)} {hunk.header}".rstrip()
            ),
            kind=kind_of(request.tool),
            status="pending",
            content=[
                FileEditToolCallContent(
                    type="diff",
                    path=path,
                    old_text=hunk.old if hunk.kind != "create" else None,
                    new_text=hunk.new if hunk.kind != "delete" else "",
                )
            ],
            locations=[ToolCallLocation(path=path, line=hunk.offset + 1)],
            raw_input=request.arguments,
        )

    def rejected(self, call_id: str, message: str) -> ToolCallProgress:
        """The call will not run: the user (or the mode) rejected it."""
        return ToolCallProgress(
            session_update="tool_call_update",
            tool_call_id=call_id,
            status="failed",
            content=[*self._diffs.pop(call_id, []), _text(message)],
        )

    # -- progress ----------------------------------------------------------------------------

    def started(self, event: ToolStarted) -> ToolCallStart | ToolCallProgress:
        """A tool began (after its approval, if it needed one)."""
        return self.announce(event.call_id, event.tool, event.arguments, status="in_progress")

    def finished(self, event: ToolFinished) -> ToolCallProgress:
        """A tool ended: its output (and the diff it applied), completed or failed."""
        content: list[ToolContent] = list(self._diffs.pop(event.call_id, []))
        terminal = self.terminals.pop(event.call_id, None)
        if terminal is not None:
            content.append(TerminalToolCallContent(type="terminal", terminal_id=terminal))
        content.append(_text(event.content))
        return ToolCallProgress(
            session_update="tool_call_update",
            tool_call_id=event.call_id,
            status="completed" if event.status == "ok" else "failed",
            content=content,
        )

    def subagent_started(self, event: SubagentStarted) -> ToolCallStart | ToolCallProgress:
        """The main agent delegated a task (shown as a ``think`` call)."""
        start = self.announce(event.call_id, "task", {}, status="in_progress")
        start.title = f"{event.subagent}: {_short(event.task, 80)}"
        return start

    def subagent_finished(self, event: SubagentFinished) -> ToolCallProgress:
        """A subagent reported back."""
        return ToolCallProgress(
            session_update="tool_call_update",
            tool_call_id=event.call_id,
            status="completed" if event.status == "ok" else "failed",
            content=[_text(event.result)],
        )
