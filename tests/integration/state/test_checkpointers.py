"""One checkpointer suite for every saver: in-memory, SQLite, Redis (sync, async, cluster).

The savers must be interchangeable: ``langgraph-checkpoint-conformance`` runs against each, then
our own cases (namespaces, pending-write order and idempotence, list filters, delete, a real
graph interrupted by ``interrupt()`` and resumed) compare every saver with the in-memory one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from luminamind.state.redis import AsyncRedisSaver, RedisSaver
from luminamind.state.redis.conn import RedisOptions
from luminamind.state.sqlite_saver import open_sqlite_checkpointer
from tests.support.redis_server import RedisServer

SaverFactory = Callable[[], AbstractAsyncContextManager[BaseCheckpointSaver[Any]]]

KINDS = ["memory", "sqlite", "redis", "redis-sync", "redis-cluster"]


@pytest.fixture(params=KINDS)
def make_saver(request: pytest.FixtureRequest, tmp_path: Path) -> SaverFactory:
    """A factory of fresh savers of one kind (Redis kinds share the session's servers)."""
    kind: str = request.param

    @asynccontextmanager
    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        if kind == "memory":
            yield InMemorySaver()
        elif kind == "sqlite":
            async with open_sqlite_checkpointer(tmp_path / f"{uuid4()}.db") as s:
                yield s
        elif kind == "redis-sync":
            server: RedisServer = request.getfixturevalue("redis_server")
            with RedisSaver(RedisOptions(server.start().url), prefix=f"t{uuid4().hex}") as s:
                s.setup()
                yield s
        else:
            cluster = kind == "redis-cluster"
            fixture = "redis_cluster_server" if cluster else "redis_server"
            server = request.getfixturevalue(fixture)
            options = RedisOptions(server.start().url, cluster=cluster)
            async with AsyncRedisSaver(options, prefix=f"t{uuid4().hex}") as s:
                yield s

    factory.kind = kind  # type: ignore[attr-defined]
    return factory


async def test_conformance(make_saver: SaverFactory) -> None:
    """langgraph-checkpoint-conformance, every capability the saver implements."""

    @checkpointer_test(name=f"luminamind-{make_saver.kind}")  # type: ignore[attr-defined]
    async def registered() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        async with make_saver() as saver:
            yield saver

    report = await validate(registered)
    failures = {cap: r.failures for cap, r in report.results.items() if r.failures}
    assert report.passed_all_base(), failures
    assert not failures
    assert report.results["put"].tests_passed >= 17
    if make_saver.kind.startswith("redis"):  # type: ignore[attr-defined]
        assert report.results["copy_thread"].passed
        assert report.results["prune"].passed


async def _put(
    saver: BaseCheckpointSaver[Any],
    thread_id: str,
    *,
    ns: str = "",
    parent: RunnableConfig | None = None,
    values: dict[str, Any] | None = None,
    **metadata: Any,
) -> RunnableConfig:
    config = generate_config(thread_id, checkpoint_ns=ns)
    if parent is not None:
        config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    versions = {k: saver.get_next_version(None, None) for k in values or {}}
    cp = generate_checkpoint(channel_values=values or {}, channel_versions=versions)
    md = generate_metadata(**metadata)
    return await saver.aput(config, cp, md, versions)


async def _ids(saver: BaseCheckpointSaver[Any], config: Any, **kwargs: Any) -> list[str]:
    return [t.checkpoint["id"] async for t in saver.alist(config, **kwargs)]


async def test_namespaces_are_isolated_and_listed_together(make_saver: SaverFactory) -> None:
    async with make_saver() as saver:
        tid = str(uuid4())
        root = await _put(saver, tid, values={"x": "root"}, step=0)
        child = await _put(saver, tid, ns="tools:abc", values={"x": "child"}, step=0)
        grandchild = await _put(saver, tid, ns="tools:abc|agent:1", values={"x": "deep"}, step=0)
        for cfg, expected in ((root, "root"), (child, "child"), (grandchild, "deep")):
            got = await saver.aget_tuple(cfg)
            assert got is not None
            assert got.checkpoint["channel_values"] == {"x": expected}
            assert (
                got.config["configurable"]["checkpoint_ns"] == cfg["configurable"]["checkpoint_ns"]
            )
        latest_child = await saver.aget_tuple(generate_config(tid, checkpoint_ns="tools:abc"))
        assert latest_child is not None
        assert latest_child.checkpoint["id"] == child["configurable"]["checkpoint_id"]
        every = {
            t.config["configurable"]["checkpoint_ns"]
            async for t in saver.alist({"configurable": {"thread_id": tid}})
        }
        assert every == {"", "tools:abc", "tools:abc|agent:1"}


async def test_pending_writes_order_and_idempotence(make_saver: SaverFactory) -> None:
    async with make_saver() as saver:
        tid = str(uuid4())
        cfg = await _put(saver, tid)
        # Tasks are applied in (task_path, task_id, idx) order, not in the order they arrived.
        await saver.aput_writes(cfg, [("a", 1), ("b", 2)], "task-z", task_path="~0")
        await saver.aput_writes(cfg, [("c", 3)], "task-a", task_path="~1")
        await saver.aput_writes(cfg, [("a", 99)], "task-z", task_path="~0")  # retried: ignored
        await saver.aput_writes(cfg, [(INTERRUPT, {"v": 1})], "task-i", task_path="~2")
        await saver.aput_writes(cfg, [(INTERRUPT, {"v": 2})], "task-i", task_path="~2")  # replaces
        await saver.aput_writes(cfg, [(ERROR, "boom")], "task-e", task_path="~3")
        got = await saver.aget_tuple(cfg)
        assert got is not None
        assert got.pending_writes == [
            ("task-z", "a", 1),
            ("task-z", "b", 2),
            ("task-a", "c", 3),
            ("task-i", INTERRUPT, {"v": 2}),
            ("task-e", ERROR, "boom"),
        ]


async def test_list_filters_before_and_limit(make_saver: SaverFactory) -> None:
    async with make_saver() as saver:
        tid = str(uuid4())
        parent = None
        configs = []
        for step in range(6):
            parent = await _put(
                saver,
                tid,
                parent=parent,
                source="loop" if step % 2 else "input",
                step=step,
                run_id=f"run-{step // 3}",
            )
            configs.append(parent)
        ids = [c["configurable"]["checkpoint_id"] for c in configs]
        base = generate_config(tid)
        assert await _ids(saver, base) == ids[::-1]
        assert await _ids(saver, base, filter={"source": "loop"}) == [ids[5], ids[3], ids[1]]
        assert await _ids(saver, base, filter={"source": "loop", "run_id": "run-0"}) == [ids[1]]
        assert await _ids(saver, base, filter={"step": 4}) == [ids[4]]
        assert await _ids(saver, base, filter={"missing": 1}) == []
        before = generate_config(tid, checkpoint_id=ids[4])
        assert await _ids(saver, base, before=before) == ids[3::-1]
        assert await _ids(saver, base, before=before, limit=2) == [ids[3], ids[2]]
        assert await _ids(saver, base, before=before, filter={"source": "input"}, limit=1) == [
            ids[2]
        ]
        assert await _ids(saver, generate_config(tid, checkpoint_id=ids[2])) == [ids[2]]
        assert await _ids(saver, base, limit=0) == []
        child = await _put(saver, tid, ns="sub:1", step=9)
        assert await _ids(saver, generate_config(tid, checkpoint_ns="sub:1")) == [
            child["configurable"]["checkpoint_id"]
        ]


async def test_delete_thread_leaves_other_threads(make_saver: SaverFactory) -> None:
    async with make_saver() as saver:
        gone, kept = str(uuid4()), str(uuid4())
        cfg = await _put(saver, gone, values={"m": [1, 2]})
        await _put(saver, gone, ns="child:1")
        await saver.aput_writes(cfg, [("m", 3)], "t1")
        other = await _put(saver, kept, values={"m": ["kept"]})
        await saver.adelete_thread(gone)
        assert await saver.aget_tuple(generate_config(gone)) is None
        assert await saver.aget_tuple(generate_config(gone, checkpoint_ns="child:1")) is None
        assert await _ids(saver, {"configurable": {"thread_id": gone}}) == []
        survivor = await saver.aget_tuple(other)
        assert survivor is not None
        assert survivor.checkpoint["channel_values"] == {"m": ["kept"]}
        await saver.adelete_thread(gone)  # deleting twice is fine


async def test_next_version_is_monotonic_and_sqlite_shaped(make_saver: SaverFactory) -> None:
    async with make_saver() as saver:
        v1 = saver.get_next_version(None, None)
        v2 = saver.get_next_version(v1, None)
        assert v2 > v1
        if make_saver.kind != "memory":  # type: ignore[attr-defined]
            assert isinstance(v1, str)
            assert v1.split(".")[0] == f"{1:032}"
            assert saver.get_next_version(7, None).startswith(f"{8:032}.")


class _State(TypedDict):
    steps: list[str]


def _graph(saver: BaseCheckpointSaver[Any]) -> Any:  # Any: a compiled LangGraph graph
    def plan(state: _State) -> dict[str, list[str]]:
        return {"steps": [*state["steps"], "planned"]}

    def approve(state: _State) -> dict[str, list[str]]:
        decision = interrupt({"question": "write the file?", "steps": state["steps"]})
        return {"steps": [*state["steps"], f"decision:{decision}"]}

    def act(state: _State) -> dict[str, list[str]]:
        return {"steps": [*state["steps"], "done"]}

    builder = StateGraph(_State)
    builder.add_node("plan", plan)
    builder.add_node("approve", approve)
    builder.add_node("act", act)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approve")
    builder.add_edge("approve", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=saver)


async def test_graph_interrupt_is_resumed_through_a_new_saver(make_saver: SaverFactory) -> None:
    """An approval interrupt survives the saver (and, for files and Redis, the process)."""
    config = {"configurable": {"thread_id": str(uuid4())}}
    async with make_saver() as saver:
        first = await _graph(saver).ainvoke({"steps": []}, config)
        assert first["__interrupt__"][0].value["question"] == "write the file?"
        state = await _graph(saver).aget_state(config)
        assert state.next == ("approve",)
        assert state.tasks[0].interrupts[0].value["steps"] == ["planned"]
        final = await _graph(saver).ainvoke(Command(resume="yes"), config)
        assert final == {"steps": ["planned", "decision:yes", "done"]}
        history = [s async for s in _graph(saver).aget_state_history(config)]
        assert [h.metadata["step"] for h in history if h.metadata] == [3, 2, 1, 0, -1]


async def test_results_match_the_in_memory_saver(make_saver: SaverFactory) -> None:
    """The same operations give the same tuples as InMemorySaver (the reference)."""

    async def run(saver: BaseCheckpointSaver[Any]) -> list[tuple[Any, ...]]:
        tid = "same-thread"
        a = await _put(saver, tid, values={"x": 1, "y": [1]}, step=0, source="input")
        b = await _put(saver, tid, parent=a, values={"x": 2}, step=1, source="loop")
        await saver.aput_writes(b, [("x", 3), ("y", [2])], "t", task_path="p")
        await _put(saver, tid, ns="child:x", values={"z": {"k": "v"}}, step=0)
        out: list[tuple[Any, ...]] = []
        async for t in saver.alist({"configurable": {"thread_id": tid, "checkpoint_ns": ""}}):
            out.append(_summary(t))
        return out

    async with make_saver() as saver:
        assert await run(saver) == await run(InMemorySaver())


def _summary(t: CheckpointTuple) -> tuple[Any, ...]:
    return (
        t.metadata.get("step"),
        t.metadata.get("source"),
        t.checkpoint["channel_values"],
        t.pending_writes,
        t.parent_config is not None,
    )


def _append(state: list[str], writes: list[list[str]]) -> list[str]:
    """A batching-invariant reducer, as `DeltaChannel` requires."""
    return [*state, *(item for write in writes for item in write)]


class _DeltaState(TypedDict):
    log: Annotated[list[str], DeltaChannel(_append, snapshot_frequency=3)]
    turn: int


async def test_delta_channel_history_is_the_default_walk_and_rebuilds_the_state(
    make_saver: SaverFactory,
) -> None:
    """A `DeltaChannel` thread (snapshot every 3 updates, a fork from the past, a subgraph
    namespace) reads back the same from every saver: each checkpoint's history equals
    LangGraph's reference walk (``get_tuple`` per ancestor), and every state its own list."""

    def step(state: _DeltaState) -> dict[str, Any]:
        return {"log": [f"turn {state['turn']}"], "turn": state["turn"] + 1}

    builder = StateGraph(_DeltaState)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid4())}}
    async with make_saver() as saver:
        graph: Any = builder.compile(checkpointer=saver)  # Any: a compiled LangGraph graph
        expected: list[str] = []
        for turn in range(8):
            await graph.ainvoke({"log": [f"user {turn}"], "turn": turn}, config)
            expected += [f"user {turn}", f"turn {turn}"]
        history = [s async for s in graph.aget_state_history(config)]
        assert (await graph.aget_state(config)).values["log"] == expected
        # Fork from a checkpoint in the middle: only its ancestors count.
        middle = history[len(history) // 2].config
        forked = await graph.ainvoke({"log": ["fork"], "turn": 99}, middle)
        assert forked["log"][-2:] == ["fork", "turn 99"]
        every = [s.config async for s in graph.aget_state_history(config)]
        assert len(every) > len(history)
        for at in every:
            ours = await saver.aget_delta_channel_history(config=at, channels=["log", "turn"])
            reference = await BaseCheckpointSaver.aget_delta_channel_history(
                saver, config=at, channels=["log", "turn"]
            )
            assert ours == reference
        assert await saver.aget_delta_channel_history(config=config, channels=[]) == {}
        latest = await BaseCheckpointSaver.aget_delta_channel_history(
            saver, config=config, channels=["log"]
        )
        assert await saver.aget_delta_channel_history(config=config, channels=["log"]) == latest
