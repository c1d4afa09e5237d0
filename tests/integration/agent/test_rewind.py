"""Rewind through AgentService: real graph, real tools, SQLite state, scripted model over HTTP.

The scenario (tests/support/rewind_scenario.py): two turns create, edit and delete files and run
a shell command that writes one. Rewinding restores the files and moves the conversation back:
the model's next request shows the conversation as of the turn gone back to.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from luminamind.agent.events import (
    AgentEvent,
    FinalAnswer,
)
from luminamind.agent.service import AgentService
from luminamind.config import Settings
from luminamind.errors import (
    RewindConflictError,
    RewindRefusedError,
    ThreadNotFoundError,
    TurnNotFoundError,
)
from luminamind.state.snapshots import SNAPSHOT_FILE
from tests.support.llm_script import Turn
from tests.support.llm_server import ScriptedLLM
from tests.support.review_scenario import KEPT, OLD, keep_1_and_3, propose, script_three_hunks
from tests.support.rewind_scenario import (
    AFTER_TURN_1,
    AFTER_TURN_2,
    BEFORE,
    MESSAGE_1,
    MESSAGE_2,
    MESSAGE_3,
    auto_approve,
    human_texts,
    prepare_workspace,
    script_two_turns,
    snapshot_files,
)


async def collect(stream: AsyncIterator[AgentEvent]) -> list[AgentEvent]:
    return [event async for event in stream]


async def two_turns(service: AgentService) -> str:
    first = await collect(service.stream(None, MESSAGE_1))
    assert isinstance(first[-1], FinalAnswer), first
    thread = first[-1].thread_id
    second = await collect(service.stream(thread, MESSAGE_2))
    assert isinstance(second[-1], FinalAnswer), second
    return thread


@contextlib.asynccontextmanager
async def after_two_turns(
    settings: Settings, llm: ScriptedLLM, *then: Turn
) -> AsyncIterator[tuple[AgentService, str]]:
    """A service that has run the two-turn scenario (then scripted ``then``): it and the thread."""
    script_two_turns(llm, then=then)
    async with AgentService.open(settings, surface="cli") as service:
        yield service, await two_turns(service)


@pytest.fixture
def rw_settings(llm_settings: Settings, workspace_dir: Path) -> Settings:
    prepare_workspace(workspace_dir)
    return auto_approve(llm_settings)


async def test_threads_show_lists_each_turn_with_the_files_it_changed(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        turns = await service.turns(thread)
    assert snapshot_files(workspace_dir) == AFTER_TURN_2
    assert [(t.turn, t.message) for t in turns] == [(1, MESSAGE_1), (2, MESSAGE_2)]
    assert [(f.path, f.change, f.tool) for f in turns[0].files] == [
        ("edit.txt", "modified", "write_file"),
        ("new.txt", "created", "write_file"),
    ]
    assert [(f.path, f.change, f.tool) for f in turns[1].files] == [
        ("gone.txt", "deleted", "delete_file"),
        ("made.txt", "created", "shell"),
    ]


async def test_rewind_to_turn_2_restores_turn_1s_files_and_conversation(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    then = Turn.text("We made new.txt.")
    async with after_two_turns(rw_settings, llm_server, then) as (service, thread):
        plan = await service.plan_rewind(thread, turn=2)
        assert {(f.path, f.action) for f in plan.files} == {
            ("gone.txt", "write"),
            ("made.txt", "delete"),
        }
        assert snapshot_files(workspace_dir) == AFTER_TURN_2  # planning changes nothing
        result = await service.rewind(thread, turn=2)
        assert sorted(result.restored) == ["gone.txt", "made.txt"]
        assert result.conversation == "forked"
        assert snapshot_files(workspace_dir) == AFTER_TURN_1
        events = await collect(service.stream(thread, MESSAGE_3))
        assert isinstance(events[-1], FinalAnswer), events
        turns = await service.turns(thread)
    assert human_texts(llm_server.calls[-1]) == [
        f"user: {MESSAGE_1}",
        "assistant: Turn one done.",
        f"user: {MESSAGE_3}",
    ]
    assert [(t.turn, t.message) for t in turns] == [(1, MESSAGE_1), (2, MESSAGE_3)]


async def test_rewind_to_turn_1_restores_everything_and_clears_the_conversation(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    then = Turn.text("Nothing yet.")
    async with after_two_turns(rw_settings, llm_server, then) as (service, thread):
        result = await service.rewind(thread, turn=1)
        assert result.conversation == "cleared"
        assert snapshot_files(workspace_dir) == BEFORE
        events = await collect(service.stream(thread, MESSAGE_3))
        assert isinstance(events[-1], FinalAnswer), events
    assert human_texts(llm_server.calls[-1]) == [f"user: {MESSAGE_3}"]


async def test_a_user_edit_after_the_agent_is_a_conflict_never_overwritten(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        (workspace_dir / "edit.txt").write_text("the user's version\n")
        plan = await service.plan_rewind(thread, turn=1)
        (conflict,) = plan.problems
        assert (conflict.path, conflict.problem) == ("edit.txt", "conflict")
        assert conflict.diff is not None
        assert "-the user's version" in conflict.diff
        assert "+version 1" in conflict.diff
        with pytest.raises(RewindConflictError) as caught:
            await service.rewind(thread, turn=1)
        assert "edit.txt" in caught.value.message
        assert "changed after the agent's edit" in caught.value.message
        assert (workspace_dir / "edit.txt").read_text() == "the user's version\n"
        assert (workspace_dir / "made.txt").exists()  # nothing was changed
        result = await service.rewind(thread, turn=1, partial=True)
    assert [f.path for f in result.left] == ["edit.txt"]
    assert snapshot_files(workspace_dir) == {**BEFORE, "edit.txt": "the user's version\n"}


async def test_overwrite_restores_a_conflict_when_asked_explicitly(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        (workspace_dir / "new.txt").write_text("edited by the user\n")
        await service.rewind(thread, turn=1, overwrite=True)
    assert snapshot_files(workspace_dir) == BEFORE


async def test_a_file_now_a_directory_is_left_alone(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        (workspace_dir / "gone.txt").mkdir()
        (workspace_dir / "gone.txt" / "inside").write_text("mine\n")
        plan = await service.plan_rewind(thread, turn=2)
        assert [(f.path, f.problem) for f in plan.problems] == [("gone.txt", "not_a_file")]
        with pytest.raises(RewindConflictError):
            await service.rewind(thread, turn=2, overwrite=True)
        result = await service.rewind(thread, turn=2, overwrite=True, partial=True)
    assert result.restored == ["made.txt"]
    assert (workspace_dir / "gone.txt" / "inside").read_text() == "mine\n"


async def test_missing_snapshots_are_named_and_the_rest_restored_only_if_agreed(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        with sqlite3.connect(rw_settings.data_dir / SNAPSHOT_FILE) as db:
            db.execute("DELETE FROM blobs")  # lost (a damaged or hand-pruned store)
        with pytest.raises(RewindConflictError) as caught:
            await service.rewind(thread, turn=1)
        assert set(caught.value.paths) == {"edit.txt", "gone.txt"}
        assert "snapshot is missing" in caught.value.message
        assert snapshot_files(workspace_dir) == AFTER_TURN_2
        result = await service.rewind(thread, turn=1, partial=True)
    assert sorted(result.restored) == ["made.txt", "new.txt"]
    assert snapshot_files(workspace_dir) == {"edit.txt": "version 2\n"}


async def test_binaries_are_listed_not_stored(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / "data.bin").write_bytes(b"\0\1\2")
    llm_server.script(
        [
            Turn.tool_calls(("delete_file", {"path": "data.bin"})),
            Turn.text("Deleted."),
        ]
    )
    async with AgentService.open(rw_settings, surface="cli") as service:
        events = await collect(service.stream(None, "delete data.bin"))
        thread = events[-1].thread_id
        (turn,) = await service.turns(thread)
        assert [(f.path, f.restorable) for f in turn.files] == [("data.bin", False)]
        assert turn.files[0].note == "a binary file"
        plan = await service.plan_rewind(thread)
    assert [(f.path, f.problem) for f in plan.problems] == [("data.bin", "not_stored")]


async def test_bad_turns_threads_and_workspaces_are_typed_errors(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path, tmp_path: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        with pytest.raises(TurnNotFoundError, match="has no turn 7: it has turns 1 to 2"):
            await service.rewind(thread, turn=7)
        with pytest.raises(ThreadNotFoundError):
            await service.rewind("no-such-thread", turn=1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = rw_settings.model_copy(update={"workspace": elsewhere})
    async with AgentService.open(other, surface="cli") as service:
        with pytest.raises(RewindRefusedError, match="works in"):
            await service.rewind(thread, turn=1)
    assert snapshot_files(workspace_dir) == AFTER_TURN_2


async def test_a_pruned_turn_says_so(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    keep_one = rw_settings.model_copy(
        update={"rewind": rw_settings.rewind.model_copy(update={"keep_turns": 1})}
    )
    async with after_two_turns(keep_one, llm_server) as (service, thread):
        with pytest.raises(TurnNotFoundError, match="turns before 2 were pruned"):
            await service.rewind(thread, turn=1)
        assert [t.turn for t in await service.turns(thread)] == [2]


async def test_a_running_thread_is_not_rewound(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    then = Turn.text("slow", delay=3.0)
    async with after_two_turns(rw_settings, llm_server, then) as (service, thread):
        running = asyncio.create_task(collect(service.stream(thread, MESSAGE_3)))
        while not service.is_running(thread):
            await asyncio.sleep(0.01)
        with pytest.raises(RewindRefusedError, match="is running"):
            await service.rewind(thread, turn=1)
        await service.cancel(thread)
        await running
    assert snapshot_files(workspace_dir) == AFTER_TURN_2


async def test_deleting_the_thread_removes_its_snapshots(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    async with after_two_turns(rw_settings, llm_server) as (service, thread):
        assert await service.delete(thread)
    with sqlite3.connect(rw_settings.data_dir / SNAPSHOT_FILE) as db:
        for table in ("turns", "files", "blobs", "scan"):
            count = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            assert count == 0, table


async def test_a_partial_review_records_what_was_kept(
    llm_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    script_three_hunks(llm_server, workspace_dir)
    async with AgentService.open(llm_settings, surface="cli") as service:
        thread, request = await propose(service)
        events = await collect(service.resume(thread, [keep_1_and_3(request)]))
        assert isinstance(events[-1], FinalAnswer), events
        assert (workspace_dir / "notes.txt").read_text() == KEPT
        (turn,) = await service.turns(thread)
        assert [(f.path, f.change) for f in turn.files] == [("notes.txt", "modified")]
        # The user's own edit after the review is what the agent did not write: a conflict.
        (workspace_dir / "notes.txt").write_text(KEPT + "mine\n")
        plan = await service.plan_rewind(thread)
        assert [(f.path, f.problem) for f in plan.files] == [("notes.txt", "conflict")]
        (workspace_dir / "notes.txt").write_text(KEPT)
        await service.rewind(thread)
    assert (workspace_dir / "notes.txt").read_text() == OLD


@pytest.mark.parametrize("backend", ["redis", "memory"])
async def test_rewind_with_the_redis_and_memory_backends(
    backend: str,
    rw_settings: Settings,
    llm_server: ScriptedLLM,
    workspace_dir: Path,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        chosen = rw_settings.model_copy(update={"redis_url": SecretStr(url)})
    else:
        chosen = rw_settings.model_copy(update={"state_backend": "memory"})
    then = Turn.text("Back at turn one.")
    async with after_two_turns(chosen, llm_server, then) as (service, thread):
        await service.rewind(thread, turn=2)
        assert snapshot_files(workspace_dir) == AFTER_TURN_1
        events = await collect(service.stream(thread, MESSAGE_3))
        assert isinstance(events[-1], FinalAnswer), events
    assert human_texts(llm_server.calls[-1]) == [
        f"user: {MESSAGE_1}",
        "assistant: Turn one done.",
        f"user: {MESSAGE_3}",
    ]


async def test_a_shell_edit_of_an_existing_file_is_restored_and_ignored_files_are_not_scanned(
    rw_settings: Settings, llm_server: ScriptedLLM, workspace_dir: Path
) -> None:
    (workspace_dir / ".gitignore").write_text("build/\n")
    (workspace_dir / "build").mkdir()
    llm_server.script(
        [
            Turn.tool_calls(
                ("shell", {"command": "sed -i -e s/1/ONE/ edit.txt"}),
                ("shell", {"command": "tee build/out.txt", "stdin": "generated\n"}),
            ),
            Turn.text("Edited with sed."),
        ]
    )
    async with AgentService.open(rw_settings, surface="cli") as service:
        events = await collect(service.stream(None, "use sed"))
        assert isinstance(events[-1], FinalAnswer), events
        thread = events[-1].thread_id
        assert (workspace_dir / "edit.txt").read_text() == "version ONE\n"
        (turn,) = await service.turns(thread)
        assert [(f.path, f.change, f.tool) for f in turn.files] == [
            ("edit.txt", "modified", "shell")
        ]
        await service.rewind(thread)
    assert (workspace_dir / "edit.txt").read_text() == "version 1\n"
    assert (workspace_dir / "build" / "out.txt").exists()  # ignored: neither recorded nor undone
