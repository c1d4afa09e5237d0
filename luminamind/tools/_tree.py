"""Walking a directory for ``tree_view``: breadth first within a cap, rendered depth first.

Breadth first, so a capped listing still shows every top-level entry before any deep one; the
kept entries are then drawn as a ``tree``-style text block. Symlinked directories are listed but
never followed (they may lead outside the workspace, or in circles).
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from luminamind.errors import PathEscapeError, ToolExecutionError
from luminamind.security.nofollow import open_beneath, open_dir_nofollow
from luminamind.security.workspace import Workspace
from luminamind.tools.files.ignore import ALWAYS_SKIPPED, IgnoreRules, is_virtualenv_beneath

__all__ = ["Node", "TreeEntry", "TreeResult", "TreeWalk", "render", "tree_result", "walk"]

Kind = Literal["dir", "file", "symlink", "other"]
_MAX_SKIPPED_SHOWN = 50
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY


class TreeEntry(BaseModel):
    """One listed entry."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Relative to the workspace")
    kind: Literal["dir", "file", "symlink", "other"]
    depth: int = Field(description="1 for the listed directory's own entries")
    size: int | None = Field(default=None, description="Bytes, for files")
    children_omitted: int = Field(default=0, description="Children left out by the entry cap")


class TreeResult(BaseModel):
    """A directory tree as text and as entries."""

    model_config = ConfigDict(extra="forbid")

    path: str
    tree: str = Field(description="The tree drawn as text, directories ending in '/'")
    entries: list[TreeEntry] = Field(description="Breadth-first, as they were kept")
    directories: int
    files: int
    truncated: bool = Field(description="The entry cap was reached")
    skipped: list[str] = Field(
        description="Directories never listed: .git, node_modules, virtualenvs, caches"
    )
    ignored: int = Field(description="Entries left out by .gitignore/.ignore")
    notice: str | None = None


@dataclass(slots=True)
class Node:
    """One entry of the tree (the root included)."""

    path: Path
    kind: Kind
    depth: int
    size: int | None = None
    children: list[Node] = field(default_factory=list)
    omitted: int = 0  # children left out by the entry cap


@dataclass(slots=True)
class TreeWalk:
    """The kept tree and what was left out."""

    root: Node
    count: int = 0
    truncated: bool = False
    skipped: list[Path] = field(default_factory=list)
    skipped_count: int = 0
    ignored_count: int = 0


def _kind(entry: os.DirEntry[str]) -> tuple[Kind, int | None]:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return "other", None
    if stat.S_ISLNK(info.st_mode):
        return "symlink", None
    if stat.S_ISDIR(info.st_mode):
        return "dir", None
    if stat.S_ISREG(info.st_mode):
        return "file", info.st_size
    return "other", None


def _sort_key(item: tuple[os.DirEntry[str], Kind, int | None]) -> tuple[bool, str, str]:
    entry, kind, _ = item
    return (kind != "dir", entry.name.lower(), entry.name)


def walk(
    top: Path,
    *,
    rules: IgnoreRules,
    depth: int,
    show_hidden: bool,
    limit: int,
    top_fd: int,
) -> TreeWalk:
    """List ``top`` (open as ``top_fd``) down to ``depth`` levels, keeping ``limit`` entries.

    ``rules`` are those in force inside ``top``. Every deeper directory is opened from
    ``top_fd`` without following any symlink (``open_beneath``) and listed through its
    descriptor, so one swapped for a symlink mid-walk is left unexpanded, never followed out.
    """
    result = TreeWalk(root=Node(top, "dir", 0))
    queue: deque[tuple[Node, IgnoreRules]] = deque([(result.root, rules)])
    while queue:
        node, node_rules = queue.popleft()
        if result.truncated:
            break  # deeper directories stay unexpanded; their parents already say so
        if node is result.root:
            fd = top_fd
        else:
            try:
                fd = open_beneath(top_fd, node.path.relative_to(top).as_posix(), _DIRECTORY)
            except (OSError, PathEscapeError):
                continue  # unreadable or swapped directory: listed, not expanded
            node_rules = node_rules.entering(node.path, dir_fd=fd)
        try:
            _expand(result, node, node_rules, fd, queue, depth, show_hidden, limit)
        finally:
            if fd != top_fd:
                os.close(fd)
    return result


def _expand(
    result: TreeWalk,
    node: Node,
    node_rules: IgnoreRules,
    fd: int,
    queue: deque[tuple[Node, IgnoreRules]],
    depth: int,
    show_hidden: bool,
    limit: int,
) -> None:
    """Keep the entries of ``node`` (open as ``fd``) and queue its directories."""
    try:
        with os.scandir(fd) as scan:
            entries = list(scan)
    except OSError:
        return  # unreadable directory: listed, not expanded
    kept: list[tuple[os.DirEntry[str], Kind, int | None]] = []
    for entry in entries:
        if entry.name.startswith(".") and not show_hidden:
            continue
        kind, size = _kind(entry)
        path = node.path / entry.name
        if kind == "dir" and (
            entry.name in ALWAYS_SKIPPED or is_virtualenv_beneath(fd, entry.name)
        ):
            result.skipped_count += 1
            if len(result.skipped) < _MAX_SKIPPED_SHOWN:
                result.skipped.append(path)
            continue
        if node_rules.ignored(path, is_dir=kind == "dir"):
            result.ignored_count += 1
            continue
        kept.append((entry, kind, size))
    kept.sort(key=_sort_key)
    for index, (entry, kind, size) in enumerate(kept):
        if result.count >= limit:
            node.omitted = len(kept) - index
            result.truncated = True
            break
        child = Node(node.path / entry.name, kind, node.depth + 1, size)
        node.children.append(child)
        result.count += 1
        if kind == "dir" and child.depth < depth:
            # Its own ignore files are read when it is opened (walk), through its descriptor.
            queue.append((child, node_rules))


def render(walked: TreeWalk, *, label: str, name: Callable[[Node], str]) -> str:
    """Draw the kept entries as ``tree`` does, one line per entry."""
    out = [label]

    def draw(node: Node, prefix: str) -> None:
        items: list[Node | int] = [*node.children]
        if node.omitted:
            items.append(node.omitted)
        for i, item in enumerate(items):
            last = i == len(items) - 1
            branch = "└── " if last else "├── "
            if isinstance(item, int):
                out.append(f"{prefix}{branch}… {item} more (cap reached)")
                continue
            out.append(prefix + branch + name(item))
            draw(item, prefix + ("    " if last else "│   "))

    draw(walked.root, "")
    return "\n".join(out)


def tree_result(
    ws: Workspace, top: Path, *, rules_top: Path, depth: int, show_hidden: bool, limit: int
) -> TreeResult:
    """Walk ``top`` (ignore files read from ``rules_top`` down) and build the tool's result."""
    rules = IgnoreRules.between(rules_top, top)
    try:
        top_fd = open_dir_nofollow(top)
    except OSError as exc:
        raise ToolExecutionError(
            f"tree_view: cannot open '{ws.relative(top)}': {exc.strerror}; give a directory"
        ) from None
    try:
        walked = walk(
            top, rules=rules, depth=depth, show_hidden=show_hidden, limit=limit, top_fd=top_fd
        )
    finally:
        os.close(top_fd)
    entries: list[TreeEntry] = []
    pending = deque(walked.root.children)
    while pending:  # breadth first: the order the cap kept them in
        node = pending.popleft()
        pending.extend(node.children)
        entries.append(
            TreeEntry(
                path=ws.relative(node.path),
                kind=node.kind,
                depth=node.depth,
                size=node.size,
                children_omitted=node.omitted,
            )
        )
    text = render(
        walked,
        label=ws.relative(top).rstrip("/") + "/",
        name=lambda n: n.path.name + ("/" if n.kind == "dir" else ""),
    )
    notice = None
    if walked.truncated:
        notice = (
            f"Stopped at {limit} entries (limit / limits.max_entries); deeper directories "
            "were not expanded. Call tree_view on a subdirectory to see more."
        )
    return TreeResult(
        path=ws.relative(top),
        tree=text,
        entries=entries,
        directories=sum(e.kind == "dir" for e in entries),
        files=sum(e.kind == "file" for e in entries),
        truncated=walked.truncated,
        skipped=[ws.relative(p) for p in walked.skipped],
        ignored=walked.ignored_count,
        notice=notice,
    )
