"""Rewinding a thread: its files back to their state before a turn, and its conversation too.

::

    plan = await plan_rewind(service, thread_id, turn=2)      # reads only
    result = await rewind(service, thread_id, turn=2)         # files restored, thread forked

The conversation goes back with LangGraph's own time travel: the checkpoint the thread had when
the turn started is copied as the thread's newest (``update_state(..., as_node="__copy__")``, a
fork whose parent is that checkpoint's), so the next message continues from there and the model
sees the conversation as it was. A turn that started the conversation clears the thread's
checkpoints instead. The turn's records and every later one are then dropped: the thread's next
turn takes the number again.

A surface that shows the restore as an editor edit (the language server's WorkspaceEdit) gets
the texts from `restore_texts`, and calls `rewind` once the user has confirmed it: the files on
disk are what the agent reads next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from luminamind.errors import RewindRefusedError, TurnNotFoundError
from luminamind.rewind.models import RewindPlan, RewindResult, TurnView, turn_view
from luminamind.rewind.restore import FileTarget, apply_restore, plan_files, targets_of
from luminamind.state.snapshots import SnapshotStore, TurnRecord

if TYPE_CHECKING:
    from luminamind.agent.service import AgentService

__all__ = ["plan_rewind", "restore_texts", "rewind", "thread_turns"]


def _store(service: AgentService) -> SnapshotStore:
    if service.snapshots is None:
        raise RewindRefusedError(
            "rewind is turned off (rewind.enabled = false), so no turn was recorded"
        )
    return service.snapshots


async def thread_turns(service: AgentService, thread_id: str) -> list[TurnView]:
    """The thread's recorded turns with the files each changed (oldest first).

    Raises:
        ThreadNotFoundError: no such thread.
    """
    await service.store.get(thread_id)
    if service.snapshots is None:
        return []
    return [turn_view(t) for t in await service.snapshots.turns(thread_id)]


async def _checked(
    service: AgentService, thread_id: str, turn: int | None
) -> tuple[list[TurnRecord], TurnRecord]:
    store = _store(service)
    info = await service.store.get(thread_id)
    workspace = str(service.settings.workspace)
    if info.workspace != workspace:
        raise RewindRefusedError(
            f"thread {thread_id} works in {info.workspace}, not in {workspace}; rewind it from "
            f"there (luminamind -w {info.workspace} rewind {thread_id})"
        )
    await service.refuse_while_running(thread_id, to="rewind", error=RewindRefusedError)
    turns = await store.turns(thread_id)
    if not turns:
        raise TurnNotFoundError(
            f"thread {thread_id} has no recorded turn to rewind (turns are recorded from the "
            "first message sent with rewind enabled)"
        )
    wanted = turns[-1].turn if turn is None else turn
    chosen = next((t for t in turns if t.turn == wanted), None)
    if chosen is None:
        first, last = turns[0].turn, turns[-1].turn
        known = f"turn {first}" if first == last else f"turns {first} to {last}"
        pruned = f"; turns before {first} were pruned (rewind.keep_turns)" if first > 1 else ""
        raise TurnNotFoundError(
            f"thread {thread_id} has no turn {wanted}: it has {known}{pruned}; see "
            f"`luminamind threads show {thread_id}`"
        )
    return [t for t in turns if t.turn >= wanted], chosen


async def _prepare(
    service: AgentService, thread_id: str, turn: int | None
) -> tuple[RewindPlan, list[FileTarget], dict[str, bytes], TurnRecord]:
    undone, chosen = await _checked(service, thread_id, turn)
    targets = targets_of(undone)
    shas = [t.target.sha256 for t in targets if t.target.kind == "file" and t.target.sha256]
    blobs = await _store(service).blobs(thread_id, shas)
    # Reading and hashing every file: off the event loop, which keeps serving other clients.
    files = await asyncio.to_thread(
        plan_files,
        service.runtime.context.workspace,
        targets,
        blobs,
        max_bytes=service.settings.rewind.max_file_bytes,
    )
    plan = RewindPlan(
        thread_id=thread_id,
        turn=chosen.turn,
        message=chosen.message,
        turns_undone=[t.turn for t in undone],
        files=files,
    )
    return plan, targets, blobs, chosen


async def plan_rewind(service: AgentService, thread_id: str, *, turn: int | None) -> RewindPlan:
    """What rewinding ``thread_id`` to ``turn`` (default: its last) would do; changes nothing.

    Raises:
        ThreadNotFoundError, TurnNotFoundError, RewindRefusedError.
    """
    plan, *_ = await _prepare(service, thread_id, turn)
    return plan


async def restore_texts(
    service: AgentService, thread_id: str, *, turn: int | None
) -> tuple[RewindPlan, dict[str, str | None]]:
    """The plan and, per restorable file, its text before the turn (None: removed).

    For an editor that shows the restore as an edit of its buffers; files whose earlier
    content is not text are left out (the rewind itself restores them).
    """
    plan, targets, blobs, _chosen = await _prepare(service, thread_id, turn)
    by_path = {t.path: t.target for t in targets}
    texts: dict[str, str | None] = {}
    for f in plan.restorable:
        target = by_path[f.path]
        if target.kind == "absent":
            texts[f.path] = None
        elif target.kind == "file" and target.sha256 in blobs:
            try:
                texts[f.path] = blobs[target.sha256].decode("utf-8")
            except UnicodeDecodeError:
                continue
    return plan, texts


async def rewind(
    service: AgentService,
    thread_id: str,
    *,
    turn: int | None,
    overwrite: bool = False,
    partial: bool = False,
    keep: Sequence[str] = (),
) -> RewindResult:
    """Restore the files to their state before ``turn`` and move the conversation back to it.

    Args:
        overwrite: restore conflicting files too (the user saw them and chose to).
        partial: leave the files that cannot be restored as they are, restore the rest.
        keep: files the user chose to leave as they are.

    Raises:
        ThreadNotFoundError, TurnNotFoundError, RewindRefusedError: nothing changed.
        RewindConflictError: conflicts or unrestorable files not agreed to; nothing changed.
    """
    plan, targets, blobs, chosen = await _prepare(service, thread_id, turn)
    restored, left = await asyncio.to_thread(
        apply_restore,
        service.runtime.context.workspace,
        plan,
        targets,
        blobs,
        overwrite=overwrite,
        partial=partial,
        keep=set(keep),
    )
    conversation = await _move_conversation(service, thread_id, chosen)
    return RewindResult(
        thread_id=thread_id,
        turn=chosen.turn,
        message=chosen.message,
        restored=restored,
        left=left,
        conversation=conversation,
    )


async def _move_conversation(
    service: AgentService, thread_id: str, chosen: TurnRecord
) -> Literal["forked", "cleared"]:
    """Fork from the checkpoint the turn started at (or clear a first turn), drop the records."""
    if chosen.checkpoint_id is None:
        await service.checkpointer.adelete_thread(thread_id)
        outcome: Literal["forked", "cleared"] = "cleared"
    else:
        graph = (await service.aagent()).graph
        config = {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": "",
                "checkpoint_id": chosen.checkpoint_id,
            }
        }
        await graph.aupdate_state(config, None, as_node="__copy__")
        outcome = "forked"
    await _store(service).drop_turns(thread_id, chosen.turn)
    await service.store.set_status(thread_id, "idle")
    return outcome
