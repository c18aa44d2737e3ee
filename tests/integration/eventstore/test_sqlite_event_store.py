from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customerhub_shared.eventstore import DuplicateEventId, NewEvent
from customerhub_shared.eventstore.chain import verify_stream
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from tests.integration.eventstore.contract import EventStoreContract, fresh_stream, new_event


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
        store = await SQLiteEventStore.open(tmp_path / "events.db")
        yield store
        await store.close()


async def test_a_second_process_sees_the_same_log(tmp_path: Path) -> None:
    first = await SQLiteEventStore.open(tmp_path / "events.db")
    second = await SQLiteEventStore.open(tmp_path / "events.db")
    stream = fresh_stream()
    await first.append(stream, [new_event()], expected_version=0)
    assert len(await second.read_stream(stream)) == 1
    await first.close()
    await second.close()


async def test_a_byte_flipped_in_the_file_is_named_by_verification(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = await SQLiteEventStore.open(path)
    stream = fresh_stream()
    marked = NewEvent(uuid.uuid4(), "customerhub.test.happened.v1", b'{"sealed":"QUJDREVG"}', b"{}")
    await store.append(stream, [new_event(), marked, new_event()], expected_version=0)
    await store.close()
    _checkpoint(path)

    raw = bytearray(path.read_bytes())
    offset = raw.index(b"QUJDREVG")
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))

    store = await SQLiteEventStore.open(path)
    verdict = verify_stream(stream, await store.read_stream(stream)).verdict()
    await store.close()
    assert verdict["verified"] is False
    assert verdict["events"] == 3
    assert verdict["first_mismatch"]["revision"] == 1
    assert verdict["first_mismatch"]["event_id"] == str(marked.id)


async def test_a_history_recorded_before_hashes_is_verified_from_its_first_hash(
    tmp_path: Path,
) -> None:
    path, stream = tmp_path / "events.db", fresh_stream()
    _legacy_file(path, stream, events=2)
    store = await SQLiteEventStore.open(path)
    await store.append(stream, [new_event(n=2)], expected_version=2)
    events = await store.read_stream(stream)
    verdict = verify_stream(stream, events).verdict()
    assert verdict == {
        "verified": True,
        "events": 3,
        "head": events[-1].hash,
        "unhashed_prefix": 2,
    }
    await store.close()

    # The first stored hash covers the prefix: a change there shows at that event.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE events SET data = ? WHERE revision = 0", (b'{"n": 9}',))
    store = await SQLiteEventStore.open(path)
    verdict = verify_stream(stream, await store.read_stream(stream)).verdict()
    await store.close()
    assert verdict["first_mismatch"]["revision"] == 2


def _checkpoint(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _legacy_file(path: Path, stream: str, *, events: int) -> None:
    """An events.db as written before events carried hashes."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " stream TEXT NOT NULL, revision INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE,"
            " type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB NOT NULL,"
            " recorded_at TEXT NOT NULL, UNIQUE (stream, revision))"
        )
        for revision in range(events):
            event = new_event(n=revision)
            db.execute(
                "INSERT INTO events (stream, revision, event_id, type, data, metadata,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    stream,
                    revision,
                    str(event.id),
                    event.type,
                    event.data,
                    event.metadata,
                    datetime.now(UTC).isoformat(),
                ),
            )


async def test_appends_waiting_together_share_a_commit_and_each_gets_its_own_answer(
    tmp_path: Path,
) -> None:
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    taken = new_event()
    await store.append(fresh_stream(), [taken], expected_version=0)
    contested, statements = fresh_stream(), []
    # The writer is busy while the appends arrive: they wait for it together.
    gate = threading.Event()

    def busy(db: sqlite3.Connection) -> None:
        db.set_trace_callback(statements.append)
        gate.wait(5)

    blocking = asyncio.create_task(store._db.write(busy))
    await asyncio.sleep(0.05)
    fresh = [fresh_stream() for _ in range(10)]
    appends = [
        store.append(stream, [new_event(), new_event()], expected_version=0) for stream in fresh
    ]
    appends += [store.append(contested, [new_event()], expected_version=0) for _ in range(3)]
    appends.append(store.append(fresh_stream(), [new_event(), taken], expected_version=0))
    answers = asyncio.gather(*appends, return_exceptions=True)
    await asyncio.sleep(0.05)
    gate.set()
    await blocking
    results = await answers

    assert [type(r).__name__ for r in results[:10]] == ["AppendResult"] * 10
    assert sorted(type(r).__name__ for r in results[10:13]) == [
        "AppendResult", "ConcurrencyConflict", "ConcurrencyConflict"
    ]  # fmt: skip
    assert isinstance(results[13], DuplicateEventId)
    assert statements.count("COMMIT") == 1 and statements.count("SAVEPOINT grouped_write") == 14
    log = await store.read_all()
    assert len(log) == 1 + 20 + 1  # the refused appends left nothing, not even a first event
    assert [e.position for e in log] == sorted({e.position for e in log})
    for stream in fresh:
        assert [e.revision for e in await store.read_stream(stream)] == [0, 1]
    await store.close()
