"""Bad input for every file tool: arguments, escapes, read-only roots, approvals, the audit log."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from luminamind.config import Settings, load_settings
from luminamind.errors import (
    ApprovalRequiredError,
    PathEscapeError,
    ReadOnlyPathError,
    ToolArgumentsError,
    ToolExecutionError,
)
from luminamind.runtime import ToolRuntime, build_tool_runtime
from luminamind.tools import ToolRegistry
from luminamind.tools import files as file_tools

TOOL_NAMES = [spec.name for spec in file_tools.TOOLS]


@pytest.fixture
def rt(settings: Settings) -> ToolRuntime:
    return build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )


def test_the_six_tools_in_order_with_their_annotations() -> None:
    assert TOOL_NAMES == [
        "read_file",
        "write_file",
        "copy_file",
        "delete_file",
        "list_directory",
        "file_search",
    ]
    specs = {spec.name: spec for spec in file_tools.TOOLS}
    for name in ("read_file", "list_directory", "file_search"):
        assert specs[name].annotations.read_only
        assert specs[name].annotations.idempotent
        assert specs[name].preview is None
    for name in ("write_file", "delete_file"):
        assert specs[name].annotations.destructive
        assert specs[name].annotations.needs_approval
    assert not specs["copy_file"].annotations.needs_approval
    for name in ("write_file", "copy_file", "delete_file"):
        assert specs[name].preview is not None, f"{name} needs a diff for approvals"
        assert not specs[name].annotations.read_only
    assert all(spec.family == "files" for spec in file_tools.TOOLS)


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("read_file", {}, "path"),
        ("read_file", {"path": "a", "limit": 0}, "limit"),
        ("read_file", {"path": "a", "encoding": ""}, "encoding"),
        ("write_file", {"path": "a"}, "content"),
        ("write_file", {"content": "x"}, "path"),
        ("write_file", {"path": "a", "content": 7}, "content"),
        ("write_file", {"path": "a", "content": "x", "mode": "0755"}, "mode"),
        ("write_file", {"path": "a", "content": "x", "expected_sha256": "abc"}, "expected_sha256"),
        ("write_file", {"path": "a", "content": "x", "create_parents": "maybe"}, "create_parents"),
        ("copy_file", {"source": "a"}, "destination"),
        ("copy_file", {"destination": "b"}, "source"),
        ("copy_file", {"source": ["a"], "destination": "b"}, "source"),
        ("copy_file", {"source": "a", "destination": "b", "overwrite": "maybe"}, "overwrite"),
        ("copy_file", {"source": "a", "destination": "b", "recursive": True}, "recursive"),
        ("delete_file", {}, "path"),
        ("delete_file", {"path": "a", "recursive": "maybe"}, "recursive"),
        ("delete_file", {"path": "a", "force": True}, "force"),
        ("list_directory", {"path": 3}, "path"),
        ("list_directory", {"limit": 0}, "limit"),
        ("list_directory", {"show_hidden": "maybe"}, "show_hidden"),
        ("list_directory", {"recursive": True}, "recursive"),
        ("file_search", {}, "pattern"),
        ("file_search", {"pattern": ""}, "pattern"),
        ("file_search", {"pattern": "*", "limit": -1}, "limit"),
        ("file_search", {"pattern": "*", "regex": True}, "regex"),
    ],
)
async def test_bad_arguments_name_the_field(
    rt: ToolRuntime, workspace_dir: Path, tool: str, args: dict[str, Any], field: str
) -> None:
    (workspace_dir / "a").write_text("keep")
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall(tool, args, context=rt.context, approved=True)
    assert field in info.value.fields
    assert field in info.value.message
    assert (workspace_dir / "a").read_text() == "keep"
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["a"]


@pytest.mark.parametrize("tool", TOOL_NAMES)
async def test_arguments_must_be_an_object(rt: ToolRuntime, tool: str) -> None:
    with pytest.raises(ToolArgumentsError, match="JSON object"):
        await rt.executor.acall(tool, ["a"], context=rt.context, approved=True)  # type: ignore[arg-type]


async def test_a_lone_surrogate_in_content_is_refused(rt: ToolRuntime, workspace_dir: Path) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await rt.executor.acall(
            "write_file",
            {"path": "s.txt", "content": "a\ud800b"},
            context=rt.context,
            approved=True,
        )
    assert info.value.fields == ("content",)
    assert not (workspace_dir / "s.txt").exists()


# (tool, the field holding the path under test, the other arguments)
PATH_FIELDS = [
    ("read_file", "path", {}),
    ("write_file", "path", {"content": "pwned"}),
    ("copy_file", "source", {"destination": "copied.txt"}),
    ("copy_file", "destination", {"source": "inside.txt", "overwrite": True}),
    ("delete_file", "path", {"recursive": True}),
    ("list_directory", "path", {}),
    ("file_search", "path", {"pattern": "*"}),
]


@pytest.fixture
def outside(tmp_path: Path, workspace_dir: Path) -> Path:
    """A directory beside the workspace, with links to it planted inside the workspace."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text("secret")
    (workspace_dir / "inside.txt").write_text("inside")
    (workspace_dir / "link").symlink_to(out / "secret.txt")
    (workspace_dir / "dirlink").symlink_to(out)
    (workspace_dir / "sub").mkdir()
    return out


def _outside_untouched(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == ["secret.txt"]
    assert (out / "secret.txt").read_text() == "secret"


@pytest.mark.parametrize(("tool", "field", "extra"), PATH_FIELDS)
@pytest.mark.parametrize(
    "escape",
    [
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "{outside}/secret.txt",
        "{outside}",
        "dirlink/secret.txt",
        "dirlink/new.txt",
        "~/secret.txt",
        "a\x00b",
        "x" * 300,
        "",
    ],
)
async def test_paths_that_escape_are_refused(
    rt: ToolRuntime,
    outside: Path,
    tool: str,
    field: str,
    extra: dict[str, Any],
    escape: str,
) -> None:
    args = {**extra, field: escape.format(outside=outside)}
    with pytest.raises(PathEscapeError):
        await rt.executor.acall(tool, args, context=rt.context, approved=True)
    _outside_untouched(outside)


@pytest.mark.parametrize(("tool", "field", "extra"), PATH_FIELDS)
@pytest.mark.parametrize("link", ["link", "dirlink"])
async def test_a_symlink_to_outside_is_refused_except_deleting_the_link(
    rt: ToolRuntime,
    workspace_dir: Path,
    outside: Path,
    tool: str,
    field: str,
    extra: Any,
    link: str,
) -> None:
    args = {**extra, field: link}
    if tool == "delete_file":  # the link itself is inside the workspace: it goes, its target stays
        result = await rt.executor.acall(tool, args, context=rt.context, approved=True)
        assert result.model_dump()["kind"] == "symlink"
        assert not (workspace_dir / link).is_symlink()
    else:
        with pytest.raises(PathEscapeError):
            await rt.executor.acall(tool, args, context=rt.context, approved=True)
    _outside_untouched(outside)


async def test_delete_through_a_symlinked_directory_is_refused(
    rt: ToolRuntime, workspace_dir: Path, outside: Path
) -> None:
    (outside / "inner").symlink_to(outside / "secret.txt")
    with pytest.raises(PathEscapeError):
        await rt.executor.acall(
            "delete_file", {"path": "dirlink/inner"}, context=rt.context, approved=True
        )
    assert (outside / "inner").is_symlink()


@pytest.fixture
def rooted(workspace_dir: Path, tmp_path: Path) -> tuple[ToolRuntime, Path, Path]:
    """A workspace with a read-only root elsewhere and a read-write root nested inside it."""
    ro = tmp_path / "reference"
    ro.mkdir()
    (ro / "spec.txt").write_text("spec\n")
    nested = workspace_dir / "vendor" / "lib"
    nested.mkdir(parents=True)
    (nested / "x.py").write_text("x = 1\n")
    settings = load_settings(
        workspace=workspace_dir,
        data_dir=tmp_path / "d",
        extra_roots=[{"path": ro, "mode": "ro"}, {"path": nested, "mode": "rw"}],
    )
    rt = build_tool_runtime(
        settings, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
    )
    return rt, ro, nested


async def test_read_only_roots_can_be_read_but_not_changed(
    rooted: tuple[ToolRuntime, Path, Path], workspace_dir: Path
) -> None:
    rt, ro, _ = rooted
    spec = str(ro / "spec.txt")

    async def call(tool: str, **args: Any) -> Any:
        return await rt.executor.acall(tool, args, context=rt.context, approved=True)

    assert (await call("read_file", path=spec)).content == "spec\n"
    assert [e.name for e in (await call("list_directory", path=str(ro))).entries] == ["spec.txt"]
    copied = await call("copy_file", source=spec, destination="spec-copy.txt")
    assert copied.destination == "spec-copy.txt"
    for tool, args in (
        ("write_file", {"path": spec, "content": "changed"}),
        ("delete_file", {"path": spec}),
        ("copy_file", {"source": "spec-copy.txt", "destination": str(ro / "new.txt")}),
    ):
        with pytest.raises(ReadOnlyPathError):
            await call(tool, **args)
    assert sorted(p.name for p in ro.iterdir()) == ["spec.txt"]
    assert (ro / "spec.txt").read_text() == "spec\n"


async def test_roots_and_directories_holding_a_root_are_never_deleted_or_replaced(
    rooted: tuple[ToolRuntime, Path, Path], workspace_dir: Path
) -> None:
    rt, _, nested = rooted
    (workspace_dir / "src").mkdir()
    for path in ("vendor", "vendor/lib", str(nested), "."):
        with pytest.raises(ToolExecutionError, match="workspace root"):
            await rt.executor.acall(
                "delete_file", {"path": path, "recursive": True}, context=rt.context, approved=True
            )
        with pytest.raises(ToolExecutionError, match="workspace root"):
            await rt.executor.acall(
                "copy_file",
                {"source": "src", "destination": path, "overwrite": True},
                context=rt.context,
                approved=True,
            )
    assert (nested / "x.py").read_text() == "x = 1\n"


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("write_file", {"path": "a.txt", "content": "new"}),
        ("delete_file", {"path": "a.txt"}),
        ("copy_file", {"source": "b.txt", "destination": "a.txt", "overwrite": True}),
    ],
)
async def test_changes_need_approval_and_nothing_happens_without_it(
    rt: ToolRuntime, workspace_dir: Path, tool: str, args: dict[str, Any]
) -> None:
    (workspace_dir / "a.txt").write_text("old")
    (workspace_dir / "b.txt").write_text("other")
    with pytest.raises(ApprovalRequiredError, match="needs approval"):
        await rt.executor.acall(tool, args, context=rt.context)
    assert (workspace_dir / "a.txt").read_text() == "old"
    assert sorted(p.name for p in workspace_dir.iterdir()) == ["a.txt", "b.txt"]


async def test_reading_tools_need_no_approval(rt: ToolRuntime, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("x\n")
    for tool, args in (
        ("read_file", {"path": "a.txt"}),
        ("list_directory", {}),
        ("file_search", {"pattern": "*.txt"}),
        ("copy_file", {"source": "a.txt", "destination": "b.txt"}),
    ):
        await rt.executor.acall(tool, args, context=rt.context)
    assert (workspace_dir / "b.txt").read_text() == "x\n"


async def test_every_call_is_one_audit_line_with_its_outcome(
    rt: ToolRuntime, settings: Settings, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("x")
    calls: list[tuple[str, dict[str, Any], bool]] = [
        ("read_file", {"path": "a.txt"}, False),
        ("write_file", {"path": "b.txt", "content": "token=sk-abcdefghijklmnopqrstuvwx"}, True),
        ("copy_file", {"source": "a.txt", "destination": "c.txt"}, False),
        ("delete_file", {"path": "c.txt"}, False),
        ("list_directory", {"path": "../.."}, False),
        ("file_search", {"pattern": "*", "bogus": 1}, False),
        ("delete_file", {"path": "missing.txt"}, True),
    ]
    expected = (ToolArgumentsError, ToolExecutionError, PathEscapeError, ApprovalRequiredError)
    for tool, args, approved in calls:
        with contextlib.suppress(*expected):
            await rt.executor.acall(tool, args, context=rt.context, approved=approved)
    entries = [json.loads(line) for line in settings.audit_log_path.read_text().splitlines()]
    assert [(e["tool"], e["outcome"]) for e in entries] == [
        ("read_file", "ok"),
        ("write_file", "ok"),
        ("copy_file", "ok"),
        ("delete_file", "approval_required"),
        ("list_directory", "path_outside_workspace"),
        ("file_search", "invalid_arguments"),
        ("delete_file", "tool_failed"),
    ]
    assert entries[0]["arguments"] == {"path": "a.txt"}
    assert all(e["surface"] == "cli" and e["duration_ms"] >= 0 for e in entries)
    assert "missing.txt" in entries[-1]["error"]


def _snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): (
            f"-> {p.readlink()}" if p.is_symlink() else "dir" if p.is_dir() else p.read_text()
        )
        for p in sorted(root.rglob("*"))
    }


_SEGMENTS = ["..", ".", "sub", "dirlink", "link", "new", "inside.txt", "~", "", "x\x00"]


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=6),
    absolute=st.sampled_from(["", "outside", "workspace"]),
    action=st.sampled_from(
        [
            ("write_file", "path", {"content": "w"}),
            ("delete_file", "path", {"recursive": True}),
            ("copy_file", "destination", {"source": "inside.txt", "overwrite": True}),
            ("copy_file", "source", {"destination": "copied", "overwrite": True}),
            ("read_file", "path", {}),
            ("list_directory", "path", {}),
            ("file_search", "path", {"pattern": "*"}),
        ]
    ),
)
async def test_no_spelling_of_a_path_reaches_outside(
    segments: list[str], absolute: str, action: tuple[str, str, dict[str, Any]]
) -> None:
    # A fresh sandbox per example: deletions and writes of one example must not hide the next.
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp).resolve()
        workspace, out = base / "ws", base / "outside"
        out.mkdir()
        (out / "secret.txt").write_text("secret")
        workspace.mkdir()
        (workspace / "inside.txt").write_text("inside")
        (workspace / "sub").mkdir()
        (workspace / "link").symlink_to(out / "secret.txt")
        (workspace / "dirlink").symlink_to(out)
        settings_ = load_settings(workspace=workspace, data_dir=base / "data")
        rt = build_tool_runtime(
            settings_, surface="cli", registry=ToolRegistry(file_tools.TOOLS), use_cache=False
        )
        path = "/".join(segments)
        if absolute:
            path = f"{base / ('outside' if absolute == 'outside' else 'ws')}/{path}"
        tool, field, extra = action
        before = _snapshot(out)
        try:
            result = await rt.executor.acall(
                tool, {**extra, field: path}, context=rt.context, approved=True
            )
        except (PathEscapeError, ToolExecutionError, ToolArgumentsError):
            pass
        else:
            shown = result.model_dump()
            for key in ("path", "source", "destination"):
                value = shown.get(key)
                assert value is None or not value.startswith(("/", "..")), shown
        assert _snapshot(out) == before
