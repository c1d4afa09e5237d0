"""The snapshot stores (SQLite file, in-memory SQLite, a real Redis server) behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from luminamind.config import Settings
from luminamind.state.snapshots import (
    ABSENT,
    FileRecord,
    FileState,
    ScanEntry,
    SnapshotStore,
    open_snapshot_store,
)

V1 = FileState(kind="file", sha256="a" * 64, size=3)
V2 = FileState(kind="file", sha256="b" * 64, size=3)
V3 = FileState(kind="file", sha256="c" * 64, size=3)


@pytest.fixture(params=["sqlite", "memory", "redis"])
async def store(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[SnapshotStore]:
    backend = request.param
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        chosen = settings.model_copy(update={"redis_url": SecretStr(url)})
    else:
        chosen = settings.model_copy(update={"state_backend": backend})
    opened = open_snapshot_store(chosen)
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_turns_are_numbered_per_thread(store: SnapshotStore) -> None:
    assert await store.latest_turn("t1") is None
    assert await store.begin_turn("t1", checkpoint_id=None, message="one") == 1
    assert await store.begin_turn("t1", checkpoint_id="cp-1", message="two") == 2
    assert await store.begin_turn("t2", checkpoint_id=None, message="other") == 1
    assert await store.latest_turn("t1") == 2
    turns = await store.turns("t1")
    assert [(t.turn, t.checkpoint_id, t.message) for t in turns] == [
        (1, None, "one"),
        (2, "cp-1", "two"),
    ]


async def test_a_path_keeps_its_first_before_and_its_last_after(store: SnapshotStore) -> None:
    await store.begin_turn("t", checkpoint_id=None, message="m")
    await store.record(
        "t", 1, [FileRecord("a.txt", "write_file", V1, V2)], {V1.sha256 or "": b"v1"}
    )
    await store.record(
        "t", 1, [FileRecord("a.txt", "apply_patch", V2, V3)], {V2.sha256 or "": b"v2"}
    )
    (turn,) = await store.turns("t")
    (record,) = turn.files
    assert (record.tool, record.before, record.after) == ("write_file", V1, V3)
    assert await store.blobs("t", [V1.sha256 or "", "f" * 64]) == {V1.sha256: b"v1"}


async def test_dropping_and_pruning_turns_collects_unused_content(store: SnapshotStore) -> None:
    for n, (before, data) in enumerate([(V1, b"v1"), (V2, b"v2"), (V3, b"v3")], start=1):
        await store.begin_turn("t", checkpoint_id=None, message=f"m{n}")
        after = FileState(kind="file", sha256=str(n) * 64, size=1)
        await store.record(
            "t", n, [FileRecord(f"f{n}", "write_file", before, after)], {before.sha256 or "": data}
        )
    await store.update_baseline("t", {"s.txt": ScanEntry(1, 2, V3)}, {})
    assert await store.prune("t", keep=2) == [1]
    assert [t.turn for t in await store.turns("t")] == [2, 3]
    await store.drop_turns("t", 3)
    assert [t.turn for t in await store.turns("t")] == [2]
    # v1 went with turn 1; v3's turn is gone but the scan still needs it.
    assert set(await store.blobs("t", [s.sha256 or "" for s in (V1, V2, V3)])) == {
        V2.sha256,
        V3.sha256,
    }
    assert await store.begin_turn("t", checkpoint_id=None, message="again") == 3


async def test_scan_baseline_and_deleting_a_thread(store: SnapshotStore) -> None:
    await store.update_baseline(
        "t", {"a": ScanEntry(10, 3, V1), "b": ScanEntry(11, 0, ABSENT)}, {V1.sha256 or "": b"v1"}
    )
    await store.update_baseline("t", {"b": None}, {})
    assert await store.scan_baseline("t") == {"a": ScanEntry(10, 3, V1)}
    await store.begin_turn("t", checkpoint_id=None, message="m")
    await store.delete_thread("t")
    assert await store.turns("t") == []
    assert await store.scan_baseline("t") == {}
    assert await store.blobs("t", [V1.sha256 or ""]) == {}


async def test_redis_turns_expire_with_the_thread(redis_url: str) -> None:
    from luminamind.state.redis.conn import RedisOptions
    from luminamind.state.snapshots.redis import RedisSnapshotStore

    store = RedisSnapshotStore(RedisOptions(url=redis_url), ttl_seconds=60)
    try:
        assert await store.begin_turn("ttl", checkpoint_id=None, message="m") == 1
        assert await store.begin_turn("ttl", checkpoint_id="cp", message="m2") == 2
        turns_key = store._keys("ttl")[0]
        assert 0 < await store.client.pttl(turns_key) <= 60_000
    finally:
        await store.aclose()
