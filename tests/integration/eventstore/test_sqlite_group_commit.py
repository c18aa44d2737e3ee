"""Appends waiting together commit together, and one append's failure never fails another's."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from customerhub_shared.eventstore import ConcurrencyConflict, DuplicateEventId
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.sqlite_files import connect
from customerhub_shared.sqlite_group_commit import GroupCommit
from tests.integration.eventstore.contract import fresh_stream, new_event


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    yield store
    await store.close()


def _committed_streams(path: Path) -> set[str]:
    """What another connection sees: only committed rows."""
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT stream FROM events")}
    finally:
        db.close()


async def test_concurrent_appends_to_their_own_streams_share_commits(
    store: SQLiteEventStore,
) -> None:
    streams = [fresh_stream() for _ in range(40)]
    results = await asyncio.gather(
        *(store.append(stream, [new_event()], expected_version=0) for stream in streams)
    )
    assert [result.version for result in results] == [1] * 40
    assert len({result.position for result in results}) == 40
    assert store._appends.commits < 40


async def test_writes_started_in_one_turn_of_the_loop_reach_the_writer_as_one_batch(
    tmp_path: Path,
) -> None:
    commit = GroupCommit(lambda: connect(tmp_path / "t.db", synchronous="FULL"), name="t")
    try:
        await commit.write(lambda db: db.execute("CREATE TABLE t (v INTEGER)"))
        before = commit.commits
        await asyncio.gather(
            *(
                commit.write(lambda db, v=v: db.execute("INSERT INTO t VALUES (?)", (v,)))
                for v in range(30)
            )
        )
        assert commit.commits == before + 1
    finally:
        await asyncio.to_thread(commit.close)


async def test_a_write_after_close_fails_instead_of_waiting_forever(tmp_path: Path) -> None:
    commit = GroupCommit(lambda: connect(tmp_path / "t.db", synchronous="FULL"), name="t")
    await commit.write(lambda db: db.execute("CREATE TABLE t (v INTEGER)"))
    await asyncio.to_thread(commit.close)
    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.wait_for(commit.write(lambda db: db.execute("INSERT INTO t VALUES (1)")), 5)


async def test_a_conflict_in_a_batch_fails_only_its_own_append(store: SQLiteEventStore) -> None:
    contested = fresh_stream()
    others = [fresh_stream() for _ in range(10)]
    outcomes = await asyncio.gather(
        *(store.append(s, [new_event()], expected_version=0) for s in others[:5]),
        store.append(contested, [new_event()], expected_version=0),
        store.append(contested, [new_event()], expected_version=0),
        *(store.append(s, [new_event()], expected_version=0) for s in others[5:]),
        return_exceptions=True,
    )
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert len(conflicts) == 1
    assert conflicts[0].actual == 1
    assert len(outcomes) - len(conflicts) == 11
    assert len(await store.read_stream(contested)) == 1
    for stream in others:
        assert len(await store.read_stream(stream)) == 1


async def test_a_duplicate_event_id_in_a_batch_leaves_the_others_recorded(
    store: SQLiteEventStore,
) -> None:
    event = new_event()
    streams = [fresh_stream() for _ in range(6)]
    outcomes = await asyncio.gather(
        store.append(streams[0], [new_event(), new_event()], expected_version=0),
        store.append(streams[1], [event], expected_version=0),
        store.append(streams[2], [new_event(), event], expected_version=0),
        *(store.append(s, [new_event()], expected_version=0) for s in streams[3:]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[2], DuplicateEventId)
    assert await store.read_stream(streams[2]) == []  # none of its two events
    assert len(await store.read_stream(streams[0])) == 2
    for stream in (streams[1], *streams[3:]):
        assert len(await store.read_stream(stream)) == 1


async def test_an_append_returns_only_once_its_event_is_committed(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = await SQLiteEventStore.open(path)

    async def append_and_look(stream: str) -> bool:
        await store.append(stream, [new_event()], expected_version=0)
        return stream in await asyncio.to_thread(_committed_streams, path)

    try:
        seen = await asyncio.gather(*(append_and_look(fresh_stream()) for _ in range(30)))
    finally:
        await store.close()
    assert all(seen)


async def test_the_event_stores_and_keyrings_writers_commit_with_a_full_fsync(
    store: SQLiteEventStore, tmp_path: Path
) -> None:
    keyring = SQLiteKeyRing(tmp_path / "keys.db")
    writers = [store._appends, keyring._creates]
    try:
        levels = [
            await writer.write(lambda db: db.execute("PRAGMA synchronous").fetchone()[0])
            for writer in writers
            if writer is not None
        ]
    finally:
        await keyring.close()
    assert levels == [2, 2]  # FULL: a commit returns once it is on disk


async def test_a_failed_commit_fails_every_write_of_its_batch(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    setup = connect(path, synchronous="FULL")
    setup.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)")
    # Checked at COMMIT only: the batch's writes pass one by one and fail together.
    setup.execute("CREATE TABLE d (v INTEGER REFERENCES t (v) DEFERRABLE INITIALLY DEFERRED)")
    setup.close()

    def opened() -> sqlite3.Connection:
        db = connect(path, synchronous="FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    commit = GroupCommit(opened, name="t")
    gate = threading.Event()
    try:
        held = asyncio.ensure_future(commit.write(lambda db: gate.wait(5)))
        await asyncio.sleep(0.05)  # the writer holds the first batch: the next two queue up
        batch = [
            asyncio.ensure_future(commit.write(lambda db: db.execute("INSERT INTO t VALUES (1)"))),
            asyncio.ensure_future(commit.write(lambda db: db.execute("INSERT INTO d VALUES (9)"))),
        ]
        await asyncio.sleep(0.05)
        gate.set()
        assert await held is True
        outcomes = await asyncio.gather(*batch, return_exceptions=True)
    finally:
        await asyncio.to_thread(commit.close)
    assert all(isinstance(outcome, sqlite3.IntegrityError) for outcome in outcomes)
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    check.close()


async def _append_alone(store: SQLiteEventStore, stream: str, times: int, version: int = 0) -> int:
    for _ in range(times):
        version = (await store.append(stream, [new_event()], expected_version=version)).version
    return version


async def test_a_task_appending_alone_commits_in_its_own_thread_each_append_on_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    store = await SQLiteEventStore.open(path)
    streams = [fresh_stream() for _ in range(6)]
    try:
        seen = []
        for stream in streams:
            await store.append(stream, [new_event()], expected_version=0)
            seen.append(stream in await asyncio.to_thread(_committed_streams, path))
        # The first append goes through the writer thread, the next ones need no hand-over.
        assert store._appends.commits_here == len(streams) - 1
    finally:
        await store.close()
    assert all(seen)


async def test_a_lone_writer_commits_in_the_calling_thread(tmp_path: Path) -> None:
    commit = GroupCommit(
        lambda: connect(tmp_path / "t.db", synchronous="FULL"), name="t", lone_writes_here=True
    )

    def where(db: sqlite3.Connection) -> tuple[int, int]:
        return threading.get_ident(), db.execute("PRAGMA synchronous").fetchone()[0]

    try:
        seen = [await commit.write(where) for _ in range(4)]
    finally:
        await asyncio.to_thread(commit.close)
    assert seen[0][0] != threading.get_ident()
    assert seen[1:] == [(threading.get_ident(), 2)] * 3  # FULL: on disk when it returns


async def test_concurrent_writers_after_a_lone_one_still_commit_as_one_batch(
    store: SQLiteEventStore,
) -> None:
    await _append_alone(store, fresh_stream(), 3)
    before, here = store._appends.commits, store._appends.commits_here
    streams = [fresh_stream() for _ in range(30)]
    await asyncio.gather(*(store.append(s, [new_event()], expected_version=0) for s in streams))
    assert store._appends.commits == before + 1
    assert store._appends.commits_here == here


async def test_a_lone_writer_lets_the_loop_run_between_its_appends(
    store: SQLiteEventStore,
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    stream, seen = fresh_stream(), []
    try:
        version = await _append_alone(store, stream, 2)
        here = store._appends.commits_here
        for _ in range(10):
            before = ticks
            version = await _append_alone(store, stream, 1, version)
            seen.append(ticks - before)
    finally:
        ticker.cancel()
    assert store._appends.commits_here == here + 10
    assert all(count >= 1 for count in seen)


async def test_a_lone_writer_refused_keeps_its_error_and_writes_nothing(
    store: SQLiteEventStore,
) -> None:
    stream = fresh_stream()
    reused = new_event()
    version = await _append_alone(store, stream, 2)
    await store.append(stream, [reused], expected_version=version)
    here = store._appends.commits_here
    with pytest.raises(ConcurrencyConflict):
        await store.append(stream, [new_event()], expected_version=version)
    with pytest.raises(DuplicateEventId):
        await store.append(stream, [new_event(), reused], expected_version=version + 1)
    assert len(await store.read_stream(stream)) == version + 1
    assert store._appends.commits_here == here  # a refused write commits nothing
    await store.append(stream, [new_event()], expected_version=version + 1)
    assert len(await store.read_stream(stream)) == version + 2


async def test_a_lone_write_while_another_process_writes_waits_in_the_writer_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    store = await SQLiteEventStore.open(path)
    stream = fresh_stream()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        version = await _append_alone(store, stream, 2)
        here = store._appends.commits_here
        other.execute("BEGIN IMMEDIATE")  # the write lock, as another process would hold it
        waiting = asyncio.ensure_future(
            store.append(stream, [new_event()], expected_version=version)
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()  # and this loop kept running meanwhile
        other.execute("COMMIT")
        assert (await asyncio.wait_for(waiting, 10)).version == version + 1
        assert store._appends.commits_here == here
    finally:
        other.close()
        await store.close()


class _Interrupt(BaseException):
    pass


async def test_a_lone_write_interrupted_leaves_no_transaction_open(tmp_path: Path) -> None:
    commit = GroupCommit(
        lambda: connect(tmp_path / "t.db", synchronous="FULL"), name="t", lone_writes_here=True
    )

    def interrupted(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES (1)")
        raise _Interrupt

    try:
        await commit.write(lambda db: db.execute("CREATE TABLE t (v INTEGER)"))
        await commit.write(lambda db: db.execute("INSERT INTO t VALUES (0)"))
        with pytest.raises(_Interrupt):
            await commit.write(interrupted)
        await commit.write(lambda db: db.execute("INSERT INTO t VALUES (2)"))
        values = await commit.write(lambda db: db.execute("SELECT v FROM t").fetchall())
    finally:
        await asyncio.to_thread(commit.close)
    assert values == [(0,), (2,)]
    assert commit.commits_here >= 2
