"""read_file in depth: line numbering, byte caps, long lines, large files, encodings, binaries."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luminamind.config import load_settings
from luminamind.errors import ToolArgumentsError, ToolExecutionError
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import ToolRegistry
from luminamind.tools import files as file_tools
from luminamind.tools.files.textfile import sha256_hex


def runtime_with(workspace_dir: Path, tmp_path: Path, **limits: int) -> ToolRuntime:
    settings = load_settings(workspace=workspace_dir, data_dir=tmp_path / "d", limits=limits)
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )


async def read(rt: ToolRuntime, **args: Any) -> Any:
    return await rt.executor.acall("read_file", args, context=rt.context)


@pytest.fixture
def rt(workspace_dir: Path, tmp_path: Path) -> ToolRuntime:
    return runtime_with(workspace_dir, tmp_path)


async def test_lines_end_at_newline_only(rt: ToolRuntime, workspace_dir: Path) -> None:
    # Form feeds, vertical tabs and U+2028 are not line ends for rg or editors; CRLF is one end.
    text = "a\fb\r\nc\u2028d\x0be\nlast"
    (workspace_dir / "odd.txt").write_bytes(text.encode())
    whole = await read(rt, path="odd.txt")
    assert whole.total_lines == 3
    second = await read(rt, path="odd.txt", offset=1, limit=1)
    assert second.content == "c\u2028d\x0be\n"
    assert second.next_offset == 2
    last = await read(rt, path="odd.txt", offset=2)
    assert last.content == "last"
    assert not last.truncated
    assert last.next_offset is None
    assert whole.sha256 == sha256_hex(text.encode())


async def test_empty_file_and_offsets_at_or_past_the_end(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    (workspace_dir / "empty.txt").write_bytes(b"")
    empty = await read(rt, path="empty.txt")
    assert (empty.content, empty.total_lines, empty.truncated) == ("", 0, False)
    (workspace_dir / "two.txt").write_text("1\n2\n")
    at_end = await read(rt, path="two.txt", offset=2)
    assert at_end.content == ""
    assert at_end.lines_returned == 0
    with pytest.raises(ToolExecutionError, match=r"offset 3 is past the end .*2 lines"):
        await read(rt, path="two.txt", offset=3)


async def test_a_line_longer_than_the_cap_is_cut_and_flagged(
    workspace_dir: Path, tmp_path: Path
) -> None:
    rt = runtime_with(workspace_dir, tmp_path, max_read_bytes=10)
    (workspace_dir / "minified.js").write_text("x" * 50 + "\nshort\n")
    first = await read(rt, path="minified.js")
    assert first.content == "x" * 10
    assert first.truncated
    assert first.next_offset == 1
    assert "was cut" in first.hint
    rest = await read(rt, path="minified.js", offset=first.next_offset)
    assert rest.content == "short\n"
    assert not rest.truncated
    # The cut line is the last one: truncated (it was cut) but nothing to read on to.
    (workspace_dir / "one.txt").write_text("é" * 30)
    only = await read(rt, path="one.txt")
    assert only.truncated
    assert only.next_offset is None
    assert len(only.content.encode()) <= 10
    assert only.content == "é" * 5, "a cut never splits a character"


async def test_large_files_are_read_in_slices_without_a_total(
    workspace_dir: Path, tmp_path: Path
) -> None:
    rt = runtime_with(workspace_dir, tmp_path, max_file_bytes=100)
    lines = [f"row {i:04d}\r\n" for i in range(200)]
    (workspace_dir / "big.log").write_text("".join(lines), newline="")
    with pytest.raises(ToolExecutionError, match="offset and limit") as info:
        await read(rt, path="big.log")
    assert "2000 bytes" in info.value.message
    assert "grep_search" in info.value.message
    part = await read(rt, path="big.log", offset=150, limit=3)
    assert part.content == "".join(lines[150:153])
    assert (part.total_lines, part.sha256, part.size) == (None, None, 2000)
    assert part.truncated
    assert part.next_offset == 153
    assert "offset=153" in part.hint
    tail = await read(rt, path="big.log", offset=198, limit=10)
    assert tail.content == "".join(lines[198:])
    assert not tail.truncated
    with pytest.raises(ToolExecutionError, match=r"offset 500 is past the end .*200 lines"):
        await read(rt, path="big.log", offset=500, limit=1)


async def test_large_binary_files_are_refused_from_their_head(
    workspace_dir: Path, tmp_path: Path
) -> None:
    rt = runtime_with(workspace_dir, tmp_path, max_file_bytes=100)
    (workspace_dir / "blob.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 1000)
    with pytest.raises(ToolExecutionError, match=r"binary file \(ZIP archive, 1004 bytes\)"):
        await read(rt, path="blob.zip", limit=5)


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("tool", b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "ELF executable"),
        ("data.sqlite", b"SQLite format 3\x00" + b"\x01" * 20, "SQLite database"),
        ("notes.pdf", b"%PDF-1.7\n%\xe2\xe3\n", "PDF document"),
        ("frames.wav", b"RIFF\x00\x00\x00\x00WAVE", "audio/"),
        ("mystery.bin2", b"abc\x00def", "binary data"),
    ],
)
async def test_binary_files_are_refused_with_a_type(
    rt: ToolRuntime, workspace_dir: Path, name: str, data: bytes, kind: str
) -> None:
    (workspace_dir / name).write_bytes(data)
    with pytest.raises(ToolExecutionError, match="binary file") as info:
        await read(rt, path=name)
    assert kind in info.value.message
    assert f"{len(data)} bytes" in info.value.message


async def test_latin1_and_cp1252_are_detected_and_reported(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    text = "Le cœur a ses raisons — naïve façade, déjà « vu ».\n" * 4
    (workspace_dir / "win.txt").write_bytes(text.encode("cp1252"))
    result = await read(rt, path="win.txt")
    assert result.content == text
    assert codecs.lookup(result.encoding).name == "cp1252"


async def test_an_explicit_encoding_is_used_and_reported(
    rt: ToolRuntime, workspace_dir: Path
) -> None:
    (workspace_dir / "latin.txt").write_bytes("Grüße aus Köln\n".encode("latin-1"))
    forced = await read(rt, path="latin.txt", encoding="latin-1")
    assert forced.content == "Grüße aus Köln\n"
    assert forced.encoding == "latin-1"
    detected = await read(rt, path="latin.txt")
    assert detected.encoding != "utf-8"
    assert "K" in detected.content
    with pytest.raises(ToolArgumentsError) as info:
        await read(rt, path="latin.txt", encoding="klingon-8")
    assert info.value.fields == ("encoding",)


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-8-sig"])
async def test_unicode_with_a_byte_order_mark_is_text(
    rt: ToolRuntime, workspace_dir: Path, codec: str
) -> None:
    text = "naïve\nΔ line\n"
    (workspace_dir / "bom.txt").write_bytes(text.encode(codec))
    result = await read(rt, path="bom.txt")
    assert result.content == text
    assert result.encoding == codec
    assert result.total_lines == 2


async def test_utf16_without_a_bom_needs_the_encoding(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "wide.txt").write_bytes("plain\n".encode("utf-16-le"))
    with pytest.raises(ToolExecutionError, match="binary"):
        await read(rt, path="wide.txt")
    result = await read(rt, path="wide.txt", encoding="utf-16-le")
    assert result.content == "plain\n"


async def test_directories_and_missing_files(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "sub").mkdir()
    with pytest.raises(ToolExecutionError, match="is a directory; use list_directory"):
        await read(rt, path="sub")
    with pytest.raises(ToolExecutionError, match=r"'sub/none\.txt' does not exist"):
        await read(rt, path="sub/none.txt")


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None
)
@given(
    lines=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\n"),
            max_size=40,
        ),
        max_size=30,
    ),
    trailing_newline=st.booleans(),
    cap=st.integers(min_value=45 * 4, max_value=400),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=7)),
)
async def test_reading_on_from_next_offset_returns_the_whole_file(
    workspace_dir: Path,
    tmp_path: Path,
    lines: list[str],
    trailing_newline: bool,
    cap: int,
    limit: int | None,
) -> None:
    # cap is above the longest possible line (40 characters of up to 4 bytes, plus "\n"), so no
    # line is cut and following next_offset must reproduce the file exactly.
    rt = runtime_with(workspace_dir, tmp_path, max_read_bytes=cap)
    text = "\n".join(lines) + ("\n" if trailing_newline and lines else "")
    (workspace_dir / "f.txt").write_bytes(text.encode())
    parts: list[str] = []
    offset: int | None = 0
    while offset is not None:
        args: dict[str, Any] = {"path": "f.txt", "offset": offset}
        if limit is not None:
            args["limit"] = limit
        result = await read(rt, **args)
        assert len(result.content.encode()) <= cap
        assert result.lines_returned >= 1 or result.total_lines == 0
        parts.append(result.content)
        offset = result.next_offset
    assert "".join(parts) == text


async def test_small_files_read_on_the_loop_match_the_worker_thread_path(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small UTF-8 files skip the worker thread, and text that fits the cap skips the
    # line-by-line window; every answer, errors included, must be what the slow paths give.
    from luminamind.tools.files import reading as _reading

    rt = runtime_with(workspace_dir, tmp_path, max_read_bytes=64)
    files = {
        "fits.txt": "one\ntwo\nthree",
        "over.txt": "".join(f"line {i}\n" for i in range(40)),
        "long.txt": "x" * 100 + "\nshort\n",
        "bom.txt": "\ufeffbom\n",
        "crlf.txt": "a\r\nb\r\n",
        "nul.txt": "a\x00b",
    }
    for name, text in files.items():
        (workspace_dir / name).write_bytes(text.encode())
    calls: list[dict[str, Any]] = [
        {"path": name, **extra}
        for name in files
        for extra in ({}, {"offset": 1}, {"limit": 1}, {"offset": 2, "limit": 3}, {"offset": 99})
    ]

    async def answers() -> list[Any]:
        out: list[Any] = []
        for args in calls:
            try:
                out.append((await read(rt, **args)).model_dump())
            except ToolExecutionError as exc:
                out.append(exc.message)
        return out

    on_loop = await answers()
    monkeypatch.setattr(_reading, "_ON_LOOP_BYTES", -1)  # every file to the worker thread
    monkeypatch.setattr(_reading, "_rest_if_it_fits", lambda stream, max_bytes: None)
    in_thread = await answers()
    assert on_loop == in_thread
    assert any(isinstance(a, dict) and a["content"] == "one\ntwo\nthree" for a in on_loop)
