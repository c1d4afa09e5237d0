"""Workspace confinement: the rules every path goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luminamind.errors import PathEscapeError, ReadOnlyPathError
from luminamind.security.workspace import Workspace, WorkspaceRoot


@pytest.fixture
def ws(workspace_dir: Path) -> Workspace:
    (workspace_dir / "src").mkdir()
    (workspace_dir / "src" / "a.py").write_text("x = 1\n")
    return Workspace(workspace_dir)


def test_relative_path_resolves_inside(ws: Workspace) -> None:
    assert ws.resolve("src/a.py") == ws.root / "src" / "a.py"
    assert ws.resolve("src/../src/a.py") == ws.root / "src" / "a.py"
    assert ws.resolve(".") == ws.root


def test_absolute_path_inside_is_accepted(ws: Workspace) -> None:
    assert ws.resolve(str(ws.root / "src" / "a.py")) == ws.root / "src" / "a.py"


@pytest.mark.parametrize("path", ["..", "../x", "src/../../x", "/etc/passwd", "/", "~/x"])
def test_escapes_are_refused(ws: Workspace, path: str) -> None:
    with pytest.raises(PathEscapeError, match="outside the workspace"):
        ws.resolve(path)


def test_symlink_leading_outside_is_refused(ws: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (ws.root / "link").symlink_to(outside / "secret.txt")
    (ws.root / "dirlink").symlink_to(outside)
    with pytest.raises(PathEscapeError, match="resolves to"):
        ws.resolve("link")
    # A symlinked parent directory: the final component does not even exist yet.
    with pytest.raises(PathEscapeError):
        ws.resolve("dirlink/new-file.txt")


def test_symlink_staying_inside_is_fine(ws: Workspace) -> None:
    (ws.root / "alias").symlink_to(ws.root / "src")
    assert ws.resolve("alias/a.py") == ws.root / "src" / "a.py"


@pytest.mark.parametrize("path", ["loop", "loop/child.txt", "src/../loop"])
def test_a_symlink_loop_is_refused_with_a_reason(ws: Workspace, path: str) -> None:
    (ws.root / "loop").symlink_to("loop2")
    (ws.root / "loop2").symlink_to("loop")
    with pytest.raises(PathEscapeError, match="symlink loop"):
        ws.resolve(path)


def test_a_workspace_at_the_file_system_root_contains_everything() -> None:
    # Its prefix is "/" itself, not "//": every absolute path is inside.
    ws = Workspace("/")
    assert ws.resolve("/etc") == Path("/etc").resolve()
    assert ws.relative(Path("/etc/hosts")) == "etc/hosts"
    assert ws.relative(Path("/")) == "."


def test_a_sibling_with_the_root_as_its_prefix_is_outside(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work-other").mkdir()
    ws = Workspace(tmp_path / "work")
    with pytest.raises(PathEscapeError, match="outside the workspace"):
        ws.resolve(str(tmp_path / "work-other" / "f"))
    assert ws.relative(tmp_path / "work-other" / "f") == str(tmp_path / "work-other" / "f")


@pytest.mark.parametrize(
    ("path", "message"),
    [("", "empty"), ("a\x00b", "NUL"), ("a/" * 2100, "longer than"), ("x" * 300, "longer than")],
)
def test_malformed_paths(ws: Workspace, path: str, message: str) -> None:
    with pytest.raises(PathEscapeError, match=message):
        ws.resolve(path)


def test_extra_roots_read_only_and_read_write(ws: Workspace, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    rw = tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    multi = Workspace(ws.root, extra_roots=[WorkspaceRoot(ro, "ro"), WorkspaceRoot(rw, "rw")])
    assert multi.resolve(str(ro / "f")) == ro.resolve() / "f"
    with pytest.raises(ReadOnlyPathError):
        multi.resolve(str(ro / "f"), write=True)
    assert multi.resolve(str(rw / "f"), write=True) == rw.resolve() / "f"
    assert multi.is_root(ro.resolve())


def test_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(PathEscapeError, match="not a directory"):
        Workspace(tmp_path / "missing")


_segment = st.sampled_from(["..", ".", "src", "a.py", "x", "", "...", "..x"])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(parts=st.lists(_segment, min_size=1, max_size=8), absolute=st.booleans())
def test_property_resolved_paths_never_leave_the_root(
    ws: Workspace, parts: list[str], absolute: bool
) -> None:
    raw = "/".join(parts)
    if absolute:
        raw = str(ws.root) + "/" + raw
    try:
        resolved = ws.resolve(raw)
    except PathEscapeError:
        # Refused: then the lexical normalisation really does leave the root (or is empty).
        normal = os.path.normpath(os.path.join(ws.root, raw)) if raw else ""
        assert not raw or not Path(normal).is_relative_to(ws.root)
        return
    assert resolved == ws.root or resolved.is_relative_to(ws.root)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(text=st.text(min_size=1, max_size=60))
def test_property_arbitrary_text_is_confined_or_refused(ws: Workspace, text: str) -> None:
    try:
        resolved = ws.resolve(text)
    except PathEscapeError:
        return
    except ValueError:
        pytest.fail("a malformed path must raise PathEscapeError, not ValueError")
    assert resolved == ws.root or resolved.is_relative_to(ws.root)
