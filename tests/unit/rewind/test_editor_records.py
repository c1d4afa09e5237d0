"""Writes an editor makes into its buffers are recorded with the texts it was given.

The recorder and the snapshot store are the real ones (an in-memory SQLite store); the editor is
the smallest one that keeps buffers, as an ACP client does (the ACP test drives the real client).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from luminamind.config import RewindSettings, load_settings
from luminamind.errors import ToolExecutionError
from luminamind.rewind.editor import RecordingEditor
from luminamind.rewind.models import EditorEdit
from luminamind.rewind.recorder import TurnRecorder
from luminamind.state.snapshots import SqliteSnapshotStore
from luminamind.tools.context import ToolContext
from luminamind.tools.editor import EditorCommandResult


class Buffers:
    """An editor holding buffers; ``reads`` False: it serves no reads (the disk is asked)."""

    def __init__(self, *, reads: bool) -> None:
        self.reads = reads
        self.writes = True
        self.runs_commands = False
        self.texts: dict[Path, str] = {}

    async def read_text(self, path: Path) -> str:
        if path not in self.texts:
            raise ToolExecutionError(f"not open: {path}")
        return self.texts[path]

    async def write_text(self, path: Path, text: str) -> None:
        self.texts[path] = text

    async def run_command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        time_limit: float,
        max_output_bytes: int,
    ) -> EditorCommandResult:
        raise NotImplementedError


async def test_buffer_writes_are_recorded_under_the_tool_that_made_them(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("on disk\n")
    store = SqliteSnapshotStore(None)
    recorder = TurnRecorder(store, RewindSettings(max_file_bytes=20))
    await store.begin_turn("t", checkpoint_id=None, message="edit")

    async def record(tool: str, edits: Sequence[EditorEdit]) -> None:
        await recorder.record_texts("t", root=tmp_path, tool=tool, edits=edits)

    buffers = Buffers(reads=False)
    editor = RecordingEditor(buffers, root=tmp_path, record=record)
    settings = load_settings(workspace=tmp_path, data_dir=tmp_path / ".data")
    context = ToolContext.from_settings(settings, thread_id="t")
    async with recorder.recording(context, tool="copy_file", paths=["new.txt"]):
        await editor.write_text(tmp_path / "new.txt", "copied\n")
    # Not open and the editor serves no reads: the disk says it exists (never "created").
    await editor.write_text(tmp_path / "old.txt", "x" * 30)
    await store.begin_turn("t", checkpoint_id=None, message="more")
    buffers.reads = True
    await editor.write_text(tmp_path / "old.txt", "y\n")  # the buffer is what it replaces

    first, second = await store.turns("t")
    files = {f.path: f for f in first.files}
    assert (files["new.txt"].tool, files["new.txt"].change) == ("copy_file", "created")
    assert (files["old.txt"].tool, files["old.txt"].change) == ("editor", "modified")
    assert files["old.txt"].after.kind == "listed"  # over the cap: listed, not stored
    before = files["old.txt"].before
    stored = await store.blobs("t", [before.sha256 or ""])
    assert stored == {before.sha256: b"on disk\n"}
    assert before.mode == (tmp_path / "old.txt").stat().st_mode & 0o777
    (only,) = second.files
    assert only.before.sha256 == files["old.txt"].after.sha256
    assert (tmp_path / "old.txt").read_text() == "on disk\n"  # the editor wrote no file
    await store.aclose()
