"""Recording what each turn changed: around every file-changing tool call and every review write.

The tool executor calls `TurnRecorder.recording` around a tool that may change files, with the
paths its preview names (``write_file``, ``apply_patch``...) or None for ``shell``. The paths are
looked at before the call and after it, so what is recorded is what was finally written: the
tool's own result, or the hunks a review kept (the review's partial write is recorded the same
way). ``shell`` is bracketed by two stat scans of the workspace (its ignore rules apply); only
files whose mtime or size moved are hashed. The content a file had before the command comes
from the previous scan: the first command of a thread stores the workspace's files once (under
the size cap), later ones only what changed.

Recording never fails a tool: a recording problem is logged and the turn is marked as not
fully recorded by its absence (rewind says which files it cannot restore).
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path

import structlog

from luminamind.config import RewindSettings
from luminamind.errors import LuminaError
from luminamind.rewind.models import EditorEdit
from luminamind.rewind.observe import (
    Observed,
    Stat,
    observe,
    observe_bytes,
    scan_tree,
    walk_files,
)
from luminamind.state.snapshots import ABSENT, FileRecord, ScanEntry, SnapshotStore
from luminamind.tools.context import ToolContext

__all__ = ["TurnRecorder", "recording_tool"]

_log = structlog.get_logger(__name__)
# Up to this many small files are looked at on the event loop (see `_look_soon`).
_INLINE_TARGETS = 8
_INLINE_BYTES = 256_000
# The tool call being recorded, for writes an editor makes on its behalf (`RecordingEditor`).
_CURRENT_TOOL: ContextVar[str | None] = ContextVar("luminamind_recording_tool", default=None)


def recording_tool() -> str | None:
    """The tool whose call `TurnRecorder.recording` is bracketing here, if any."""
    return _CURRENT_TOOL.get()


class TurnRecorder:
    """Records the file changes of tool calls into the thread's current turn.

    Implements the executor's ``ChangeRecorder`` protocol.
    """

    def __init__(self, store: SnapshotStore, settings: RewindSettings) -> None:
        self.store = store
        self.settings = settings

    @asynccontextmanager
    async def recording(
        self, context: ToolContext, *, tool: str, paths: Sequence[str] | None
    ) -> AsyncIterator[None]:
        """Record what the block changes in ``paths`` (None: scan the workspace)."""
        token = _CURRENT_TOOL.set(tool)
        try:
            async with self._recording(context, tool=tool, paths=paths):
                yield
        finally:
            _CURRENT_TOOL.reset(token)

    @asynccontextmanager
    async def _recording(
        self, context: ToolContext, *, tool: str, paths: Sequence[str] | None
    ) -> AsyncIterator[None]:
        thread_id = context.thread_id
        if thread_id is None:
            yield
            return
        if paths is None:
            turn = await self._turn(thread_id)
            if turn is None:  # a scan costs: only for a thread's turn
                yield
                return
            async with self._scanned(context, thread_id, turn, tool):
                yield
            return
        root = context.workspace.root
        targets = _targets(context, paths)
        before = await self._look_soon(root, targets)
        try:
            yield
        finally:
            after = await self._look_soon(root, targets)
            # Into the thread's latest turn, found in the same transaction (None: no turn).
            await self._save(thread_id, None, tool, before, after)

    async def record_texts(
        self, thread_id: str, *, root: Path, tool: str, edits: Sequence[EditorEdit]
    ) -> None:
        """Record changes an editor applied to its buffers into the thread's latest turn.

        The editor made them (a language-server client applying a reviewed WorkspaceEdit, an
        ACP client taking ``fs/write_text_file``), so there is nothing to look at on disk: the
        texts it was given are the record. When the user saves, the file holds ``after`` and a
        rewind restores ``before``; until then the file on disk is still as before.
        """
        cap = self.settings.max_file_bytes
        before: dict[str, Observed] = {}
        after: dict[str, Observed] = {}
        for edit in edits:
            mode = _mode(root / edit.path)
            for side, text in ((before, edit.before), (after, edit.after)):
                side[edit.path] = (
                    Observed(ABSENT)
                    if text is None
                    else observe_bytes(
                        text.encode("utf-8", "surrogatepass"), max_bytes=cap, mode=mode
                    )
                )
        await self._save(thread_id, None, tool, before, after)

    async def _turn(self, thread_id: str | None) -> int | None:
        if thread_id is None:
            return None
        try:
            return await self.store.latest_turn(thread_id)
        except LuminaError as exc:
            _log.warning("rewind_record_failed", thread_id=thread_id, error=exc.message)
            return None

    async def _look_soon(self, root: Path, targets: Sequence[Path]) -> dict[str, Observed]:
        """`_look`, in a worker thread only when it may take a while.

        A tool call changes a file or two: reading them takes microseconds, less than handing
        the work to a thread and back (which was most of the recording's cost on a busy CPU).
        """
        if len(targets) <= _INLINE_TARGETS and all(_small_file(t, self.settings) for t in targets):
            return self._look(root, targets)
        return await asyncio.to_thread(self._look, root, targets)

    def _look(self, root: Path, targets: Sequence[Path]) -> dict[str, Observed]:
        """Each target's state; a directory stands for the files under it."""
        seen: dict[str, Observed] = {}
        cap = self.settings.max_file_bytes
        for target in targets:
            state = observe(target, max_bytes=cap)
            if state.state.kind == "directory" and target.is_relative_to(root):
                for rel, _stat in walk_files(target, root=root, limit=self.settings.max_scan_files):
                    seen[rel] = observe(root / rel, max_bytes=cap)
            else:
                seen[_relative(root, target)] = state
        return seen

    async def _save(
        self,
        thread_id: str,
        turn: int | None,
        tool: str,
        before: Mapping[str, Observed],
        after: Mapping[str, Observed],
    ) -> None:
        records: list[FileRecord] = []
        blobs: dict[str, bytes] = {}
        for path in sorted(set(before) | set(after)):
            old = before.get(path, Observed(ABSENT))
            new = after.get(path, Observed(ABSENT))
            if old.state.same_content(new.state):
                continue
            records.append(FileRecord(path, tool, old.state, new.state))
            if old.data is not None and old.state.sha256 is not None:
                blobs[old.state.sha256] = old.data
        if not records:
            return
        try:
            await self.store.record(thread_id, turn, records, blobs)
        except LuminaError as exc:
            _log.warning("rewind_record_failed", thread_id=thread_id, tool=tool, error=exc.message)

    @asynccontextmanager
    async def _scanned(
        self, context: ToolContext, thread_id: str, turn: int, tool: str
    ) -> AsyncIterator[None]:
        root = context.workspace.root
        limit = self.settings.max_scan_files
        try:
            baseline = await self.store.scan_baseline(thread_id)
            pre, cut = await asyncio.to_thread(scan_tree, root, limit=limit)
            baseline = await self._refresh(thread_id, root, baseline, pre)
        except LuminaError as exc:
            _log.warning("rewind_record_failed", thread_id=thread_id, tool=tool, error=exc.message)
            yield
            return
        if cut:
            _log.warning("rewind_scan_cut", thread_id=thread_id, files=limit)
        try:
            yield
        finally:
            post, _ = await asyncio.to_thread(scan_tree, root, limit=limit)
            changed = {p for p in set(pre) | set(post) if pre.get(p) != post.get(p)}
            after = await asyncio.to_thread(self._observe_paths, root, changed)
            before = {
                p: Observed(baseline[p].state) if p in baseline else Observed(ABSENT)
                for p in changed
            }
            await self._save(thread_id, turn, tool, before, after)
            # The next command's "before" is this one's "after": keep it (and its content).
            entries: dict[str, ScanEntry | None] = {}
            blobs: dict[str, bytes] = {}
            for path in changed:
                seen = after[path]
                if path not in post or not seen.state.exists:
                    entries[path] = None
                    continue
                entries[path] = ScanEntry(*post[path], seen.state)
                if seen.data is not None and seen.state.sha256 is not None:
                    blobs[seen.state.sha256] = seen.data
            try:
                await self.store.update_baseline(thread_id, entries, blobs)
            except LuminaError as exc:
                _log.warning("rewind_record_failed", thread_id=thread_id, error=exc.message)

    async def _refresh(
        self,
        thread_id: str,
        root: Path,
        baseline: dict[str, ScanEntry],
        pre: Mapping[str, Stat],
    ) -> dict[str, ScanEntry]:
        """Bring the thread's scan up to date: hash (and store) only what moved since."""
        stale = [
            p
            for p, st in pre.items()
            if (e := baseline.get(p)) is None or st != (e.mtime_ns, e.size)
        ]
        gone = [p for p in baseline if p not in pre]
        if not stale and not gone:
            return baseline
        seen = await asyncio.to_thread(self._observe_paths, root, stale)
        entries: dict[str, ScanEntry | None] = dict.fromkeys(gone)
        blobs: dict[str, bytes] = {}
        for path in stale:
            state, data = seen[path].state, seen[path].data
            entries[path] = ScanEntry(*pre[path], state)
            if data is not None and state.sha256 is not None:
                blobs[state.sha256] = data
        await self.store.update_baseline(thread_id, entries, blobs)
        fresh = {p: e for p, e in baseline.items() if p not in gone}
        fresh.update({p: e for p, e in entries.items() if e is not None})
        return fresh

    def _observe_paths(self, root: Path, paths: Sequence[str] | set[str]) -> dict[str, Observed]:
        cap = self.settings.max_file_bytes
        return {p: observe(root / p, max_bytes=cap) for p in paths}


def _targets(context: ToolContext, paths: Sequence[str]) -> list[Path]:
    targets: list[Path] = []
    for path in paths:
        try:
            targets.append(context.workspace.resolve(path, write=True))
        except LuminaError:  # the tool itself refuses it with a clear message
            continue
    return targets


def _relative(root: Path, target: Path) -> str:
    return target.relative_to(root).as_posix() if target.is_relative_to(root) else str(target)


def _small_file(target: Path, settings: RewindSettings) -> bool:
    """A regular file (or nothing) small enough to read without leaving the event loop."""
    try:
        info = target.lstat()
    except OSError:
        return True  # absent: nothing to read
    return stat.S_ISREG(info.st_mode) and info.st_size <= min(
        _INLINE_BYTES, settings.max_file_bytes
    )


def _mode(path: Path) -> int | None:
    """The permission bits of the file at ``path`` (None: none there; new files get the umask)."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None
