"""The code tools: ``grep_search``, ``tree_view``, ``multi_replace_in_file``, ``apply_patch``.

Searching runs the ripgrep binary; listing walks the tree with the ignore rules; the two editing
tools validate the whole change in memory before writing anything, then write atomically.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from luminamind.errors import ToolArgumentsError, ToolExecutionError, ToolNotConfiguredError
from luminamind.security.sandbox import read_confinement
from luminamind.tools import _grep, _tree
from luminamind.tools._edit import (
    PatchedFile,
    PatchPlan,
    PlannedChange,
    Replacement,
    plan_patch,
    plan_replacements,
    write_plan,
)
from luminamind.tools._tree import TreeEntry, TreeResult
from luminamind.tools.context import ToolContext
from luminamind.tools.editor import Editor
from luminamind.tools.files.textfile import TextFile, sha256_hex
from luminamind.tools.preview import FileChange, unified_diff
from luminamind.tools.registry import ToolSpec, tool
from luminamind.tools.rg import find_rg

__all__ = [
    "TOOLS",
    "ApplyPatchResult",
    "GrepMatch",
    "GrepResult",
    "MultiReplaceResult",
    "TreeEntry",
    "TreeResult",
    "apply_patch",
    "grep_search",
    "multi_replace_in_file",
    "tree_view",
]

# How long apply_patch's planner waits for the editor to hand over a file's text.
_EDITOR_READ_SECONDS = 60.0

MAX_LINE_CHARS = 500
MAX_CONTEXT_LINES = 20
MAX_TREE_DEPTH = 20


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrepLine(_Result):
    """A line of context around a match."""

    line: int = Field(description="1-based line number")
    text: str = Field(description=f"The line, without its ending, cut at {MAX_LINE_CHARS} chars")


class GrepMatch(_Result):
    """One matching line."""

    path: str = Field(description="File, relative to the workspace")
    line: int = Field(description="1-based line number")
    column: int = Field(description="1-based character column of the first match on the line")
    text: str = Field(description=f"The line, without its ending, cut at {MAX_LINE_CHARS} chars")
    text_truncated: bool = False
    before: list[GrepLine] = Field(default_factory=list, description="Context before the match")
    after: list[GrepLine] = Field(default_factory=list, description="Context after the match")


class GrepResult(_Result):
    """Matching lines, sorted by file and line."""

    pattern: str
    path: str
    matches: list[GrepMatch]
    files_with_matches: int = Field(description="Files among the returned matches")
    total_matches: int | None = Field(
        description="All matching lines; null when the search stopped at the cap"
    )
    truncated: bool = Field(description="More matches exist than were returned")
    timed_out: bool = False
    warnings: list[str] = Field(
        default_factory=list, description="Files rg could not read, and similar"
    )
    notice: str | None = Field(default=None, description="What was cut, and how to narrow it")


def _glob_list(values: list[str], field: str) -> tuple[str, ...]:
    for glob in values:
        if not glob or glob.startswith("!") or "\x00" in glob:
            raise ToolArgumentsError(
                f"grep_search: {field} glob {glob!r} is empty, has a NUL or starts with '!'; "
                "give plain globs and put exclusions in 'exclude'",
                fields=[field],
            )
    return tuple(values)


@tool(family="code", read_only=True)
async def grep_search(
    ctx: ToolContext,
    *,
    pattern: Annotated[
        str,
        Field(
            min_length=1,
            max_length=10_000,
            description="Rust regex (ripgrep syntax: no look-around), or text if literal",
        ),
    ],
    path: Annotated[str, Field(description="File or directory to search")] = ".",
    literal: Annotated[bool, Field(description="Match the pattern as plain text")] = False,
    case: Annotated[
        Literal["smart", "sensitive", "insensitive"],
        Field(description="smart: case-insensitive unless the pattern has an upper-case letter"),
    ] = "smart",
    include: Annotated[
        list[str], Field(description="Only files matching these globs (e.g. '*.py', 'src/**')")
    ] = [],  # noqa: B006 - pydantic copies defaults; a list keeps the JSON Schema plain
    exclude: Annotated[list[str], Field(description="Skip files matching these globs")] = [],  # noqa: B006
    context_lines: Annotated[
        int, Field(ge=0, le=MAX_CONTEXT_LINES, description="Lines of context around each match")
    ] = 0,
    max_results: Annotated[
        int | None, Field(ge=1, description="Most matching lines to return (limits.max_matches)")
    ] = None,
) -> GrepResult:
    """Search file contents with ripgrep; .gitignore'd, hidden and binary files are skipped.

    Returns matching lines with file, line number, column and optional context, sorted by
    file and line. When more lines match than max_results, the search stops early and
    `truncated` is set; narrow the pattern, path or include globs to see the rest.
    """
    rg = find_rg()
    if rg is None:
        raise ToolNotConfiguredError(
            "grep_search: the rg binary was not found; install the 'ripgrep' package"
        )
    target = ctx.workspace.resolve(path)
    if not target.exists():
        raise ToolExecutionError(f"grep_search: '{path}' does not exist")
    limits = ctx.settings.limits
    cap = min(max_results or limits.max_matches, limits.max_matches)
    query = _grep.GrepQuery(
        pattern=pattern,
        target=target,
        literal=literal,
        case=case,
        include=_glob_list(include, "include"),
        exclude=_glob_list(exclude, "exclude"),
        context_lines=context_lines,
        max_results=cap,
        max_line_chars=MAX_LINE_CHARS,
        max_output_chars=limits.max_output_bytes,
        timeout=limits.search_timeout_seconds,
    )
    try:
        roots = tuple(r.path for r in ctx.workspace.roots)
        confinement = read_confinement(roots, rg)
    except OSError as exc:
        raise ToolExecutionError(
            f"grep_search: cannot confine rg to the workspace (Landlock: {exc.strerror}); "
            "nothing was searched"
        ) from None
    try:
        events = await _grep.run_rg(_grep.build_argv(rg, query), query, confinement=confinement)
    except _grep.RgFailure as exc:
        message = exc.stderr.strip().removeprefix("rg: ") or "rg failed"
        field = "pattern"
        if message.startswith("error parsing glob '"):
            # Exclusions reach rg as "!glob", which its message quotes.
            field = "exclude" if message.startswith("error parsing glob '!") else "include"
        raise ToolArgumentsError(f"grep_search: {message}", fields=[field]) from None
    return _grep_result(ctx, query, events, shown=path)


def _grep_result(
    ctx: ToolContext, query: _grep.GrepQuery, events: _grep.GrepEvents, *, shown: str
) -> GrepResult:
    relative: dict[str, str] = {}
    prefix = str(ctx.workspace.root).rstrip("/") + "/"

    def rel(p: str) -> str:
        # rg reports the resolved root we gave it plus a relative tail: a string cut suffices.
        if p not in relative:
            relative[p] = (
                p[len(prefix) :] if p.startswith(prefix) else ctx.workspace.relative(Path(p))
            )
        return relative[p]

    matches = [
        GrepMatch(
            path=rel(m.path),
            line=m.number,
            column=m.column,
            text=m.text,
            text_truncated=m.text_truncated,
            before=[GrepLine(line=c.number, text=c.text) for c in m.before],
            after=[GrepLine(line=c.number, text=c.text) for c in m.after],
        )
        for m in events.matches
    ]
    matches.sort(key=lambda m: (m.path, m.line))
    notices: list[str] = []
    if events.capped:
        notices.append(
            f"Stopped after {len(matches)} matching lines (max_results or "
            "limits.max_output_bytes); more exist. Narrow the pattern, the path or 'include'."
        )
    if events.timed_out:
        notices.append(
            f"The search ran past {query.timeout:g} s (limits.search_timeout_seconds) and was "
            "stopped; results are partial. Search a smaller path."
        )
    warnings = [line.removeprefix("rg: ") for line in events.stderr.splitlines() if line][:20]
    incomplete = events.capped or events.timed_out
    return GrepResult(
        pattern=query.pattern,
        path=shown,
        matches=matches,
        files_with_matches=len(events.files),
        total_matches=None if incomplete else len(matches),
        truncated=incomplete,
        timed_out=events.timed_out,
        warnings=warnings,
        notice=" ".join(notices) or None,
    )


@tool(family="code", read_only=True)
async def tree_view(
    ctx: ToolContext,
    *,
    path: Annotated[str, Field(description="Directory to show")] = ".",
    depth: Annotated[int, Field(ge=1, le=MAX_TREE_DEPTH, description="Levels to descend")] = 3,
    show_hidden: Annotated[bool, Field(description="Include dot-files and dot-dirs")] = False,
    limit: Annotated[
        int | None, Field(ge=1, description="Most entries to list (limits.max_entries)")
    ] = None,
) -> TreeResult:
    """Show a directory as a tree, skipping .git, node_modules, virtualenvs and ignored files.

    Entries are kept breadth first up to the cap, so the top levels always show; set `path`
    to a subdirectory to see deeper. Symlinked directories are listed, not followed.
    """
    top = ctx.workspace.resolve(path)
    if not top.is_dir():
        kind = "a file" if top.exists() else "missing"
        raise ToolExecutionError(f"tree_view: '{path}' is {kind}; give a directory")
    cap = min(limit or ctx.settings.limits.max_entries, ctx.settings.limits.max_entries)
    root = next((r.path for r in ctx.workspace.roots if r.contains(top)), top)
    # The walk is blocking file-system work: keep the event loop free for other calls.
    return await asyncio.to_thread(
        _tree.tree_result,
        ctx.workspace,
        top,
        rules_top=root,
        depth=depth,
        show_hidden=show_hidden,
        limit=cap,
    )


class MultiReplaceResult(_Result):
    """What multi_replace_in_file changed."""

    path: str
    replacements: int = Field(description="Replacement pairs applied")
    occurrences: int = Field(description="Occurrences replaced in total")
    sha256_before: str
    sha256_after: str = Field(description="Pass as expected_sha256 to chain another edit")
    diff: str = Field(description="Unified diff of the change (cut at limits.max_output_bytes)")
    diff_truncated: bool = False


@tool(family="code", destructive=True, needs_approval=True)
async def multi_replace_in_file(
    ctx: ToolContext,
    *,
    path: Annotated[str, Field(description="The text file to edit")],
    replacements: Annotated[
        list[Replacement],
        Field(min_length=1, max_length=200, description="Applied in order, each on the result"),
    ],
    expected_sha256: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9a-fA-F]{64}$",
            description="Refuse the edit unless the file's SHA-256 is this (from your last read)",
        ),
    ] = None,
) -> MultiReplaceResult:
    """Replace exact text in one file: each `old` must occur `expected_count` times.

    Replacements apply in order, each counted on the text left by the previous ones. If any
    count differs, nothing is written and the error names the replacement and the lines where
    it matched. The file is written atomically, keeping its mode.
    """
    current = await _editor_text(ctx, path, "multi_replace_in_file")
    plan = await asyncio.to_thread(
        plan_replacements,
        ctx,
        path,
        replacements,
        expected_sha256=expected_sha256,
        current=current,
    )
    editor = ctx.editor
    if editor is not None and editor.writes:
        if plan.change.new_text is not None and plan.change.new_text != plan.change.old_text:
            await editor.write_text(plan.change.path, plan.change.new_text)
    else:
        await asyncio.to_thread(write_plan, [plan.change], tool="multi_replace_in_file")
    diff = unified_diff(plan.change.shown, plan.change.old_text, plan.change.new_text)
    cap = ctx.settings.limits.max_output_bytes
    return MultiReplaceResult(
        path=plan.change.shown,
        replacements=len(replacements),
        occurrences=plan.occurrences,
        sha256_before=plan.change.old_sha256 or "",
        sha256_after=plan.change.new_sha256 or "",
        diff=diff[:cap],
        diff_truncated=len(diff) > cap,
    )


class ApplyPatchResult(_Result):
    """What apply_patch changed."""

    files: list[PatchedFile]
    notice: str | None = Field(default=None, description="Hunks that applied at an offset")


@tool(family="code", destructive=True, needs_approval=True)
async def apply_patch(
    ctx: ToolContext,
    *,
    patch: Annotated[
        str, Field(min_length=1, description="A unified diff (diff -u or git diff format)")
    ],
    strip: Annotated[
        int, Field(ge=0, le=32, description="Leading path components to drop, as patch -p")
    ] = 1,
) -> ApplyPatchResult:
    """Apply a unified diff to one or more files: all of it, or nothing.

    Creates files (--- /dev/null) and deletes them (+++ /dev/null). Every hunk of every file is
    checked before anything is written; a hunk may sit a few lines off from its header (the
    offset is reported) but its context must match exactly.
    """
    plan = await _plan_patch(ctx, patch, strip)
    editor = ctx.editor
    # The editor takes whole-file writes, not deletions: a patch that deletes a file is written
    # to disk, all of it or nothing, as without an editor.
    if editor is not None and editor.writes and all(c.new_text is not None for c in plan.changes):
        await _write_in_editor(editor, plan.changes)
    else:
        await asyncio.to_thread(write_plan, plan.changes, tool="apply_patch")
    offsets = [f for f in plan.files if any(f.offsets)]
    notice = None
    if offsets:
        notice = "Applied at an offset: " + "; ".join(
            f"{f.path} hunks {', '.join(f'{i}: {o:+d}' for i, o in enumerate(f.offsets, 1) if o)}"
            for f in offsets
        )
    return ApplyPatchResult(files=plan.files, notice=notice)


async def _editor_text(ctx: ToolContext, path: str, tool: str) -> TextFile | None:
    """The file as the thread's editor holds it (unsaved edits included); None: use the disk."""
    editor = ctx.editor
    if editor is None or not editor.reads:
        return None
    target = ctx.workspace.resolve(path, write=True)
    shown = ctx.workspace.relative(target)
    if await asyncio.to_thread(target.is_dir):
        raise ToolExecutionError(f"{tool}: '{shown}' is a directory, not a file")
    return await _editor_file(ctx, editor, target, shown, tool)


async def _editor_file(
    ctx: ToolContext, editor: Editor, target: Path, shown: str, tool: str
) -> TextFile:
    text = await editor.read_text(target)
    data = text.encode("utf-8", "surrogatepass")
    limit = ctx.settings.limits.max_file_bytes
    if len(data) > limit:
        raise ToolExecutionError(
            f"{tool}: '{shown}' is {len(data)} bytes, above the {limit}-byte limit "
            "(limits.max_file_bytes); edit it with a narrower tool or raise the limit"
        )
    return TextFile(path=target, text=text, sha256=sha256_hex(data), size=len(data))


async def _plan_patch(ctx: ToolContext, patch: str, strip: int) -> PatchPlan:
    """`plan_patch` in a worker thread, reading the files through the editor when it has them."""
    editor = ctx.editor
    if editor is None or not editor.reads:
        return await asyncio.to_thread(plan_patch, ctx, patch, strip)
    loop = asyncio.get_running_loop()

    def read(target: Path, shown: str) -> TextFile:
        # The planner runs in a worker thread; the editor answers on the event loop.
        future = asyncio.run_coroutine_threadsafe(
            _editor_file(ctx, editor, target, shown, "apply_patch"), loop
        )
        return future.result(timeout=_EDITOR_READ_SECONDS)

    return await asyncio.to_thread(plan_patch, ctx, patch, strip, read=read)


async def _write_in_editor(editor: Editor, changes: list[PlannedChange]) -> None:
    """Each changed file through the editor; a failure names what was already written."""
    written: list[str] = []
    for change in changes:
        if change.new_text is None or change.new_text == change.old_text:
            continue
        try:
            await editor.write_text(change.path, change.new_text)
        except ToolExecutionError as exc:
            if not written:
                raise
            raise ToolExecutionError(
                f"apply_patch: {exc.message}; already written through the editor: "
                f"{', '.join(written)}"
            ) from exc
        written.append(change.shown)


async def _preview_replace(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    params = args.model_dump()
    replacements = [Replacement.model_validate(r) for r in params["replacements"]]
    current = await _editor_text(ctx, params["path"], "multi_replace_in_file")
    plan = await asyncio.to_thread(
        plan_replacements,
        ctx,
        params["path"],
        replacements,
        expected_sha256=params["expected_sha256"],
        current=current,
    )
    return [plan.change.preview()]


async def _preview_patch(ctx: ToolContext, args: BaseModel) -> list[FileChange]:
    params = args.model_dump()
    plan = await _plan_patch(ctx, params["patch"], params["strip"])
    return [change.preview() for change in plan.changes]


TOOLS: tuple[ToolSpec, ...] = (
    grep_search,
    tree_view,
    multi_replace_in_file.with_preview(_preview_replace),
    apply_patch.with_preview(_preview_patch),
)
