from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customerhub_shared.eventstore import ConcurrencyConflict, NewEvent
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


async def test_a_follower_never_skips_what_another_process_appended(tmp_path: Path) -> None:
    here = await SQLiteEventStore.open(tmp_path / "events.db")
    there = await SQLiteEventStore.open(tmp_path / "events.db")
    try:
        await here.append(fresh_stream(), [new_event(n=1)], expected_version=0)
        await there.append(fresh_stream(), [new_event(n=2)], expected_version=0)
        await here.append(fresh_stream(), [new_event(n=3)], expected_version=0)
        followed: list[int] = []
        while len(followed) < 3:  # as a follower does: from where the last answer ended
            after = followed[-1] if followed else None
            batch = await here.read_following(after=after, limit=100)
            assert batch, "the follower is stuck"
            followed += [event.position for event in batch]
        log = await here.read_all()
        assert followed == [event.position for event in log]
        assert await here.read_following(after=None, limit=100) == log[:1]  # short of theirs
        assert await here.read_following(after=log[0].position, limit=100) == log[1:]
    finally:
        await here.close()
        await there.close()


async def test_a_follower_reads_the_recent_appends_as_stored(tmp_path: Path) -> None:
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    try:
        stream = fresh_stream()
        await store.append(stream, [new_event(n=n) for n in range(3)], expected_version=0)
        kept = await store.read_following(after=None, limit=100)
        read = await store.read_all()
        assert kept == read
        assert [event.recorded_at.utcoffset() for event in kept] == [
            event.recorded_at.utcoffset() for event in read
        ]
    finally:
        await store.close()


async def test_a_head_another_writer_moved_on_is_not_chained_on_from_memory(
    tmp_path: Path,
) -> None:
    first = await SQLiteEventStore.open(tmp_path / "events.db")
    second = await SQLiteEventStore.open(tmp_path / "events.db")
    stream = fresh_stream()
    try:
        await first.append(stream, [new_event()], expected_version=0)
        await second.append(stream, [new_event()], expected_version=1)
        with pytest.raises(ConcurrencyConflict) as conflict:
            await first.append(stream, [new_event()], expected_version=1)
        assert conflict.value.actual == 2
        await first.append(stream, [new_event()], expected_version=2)
        await second.append(stream, [new_event()], expected_version=3)
        events = await first.read_stream(stream)
    finally:
        await first.close()
        await second.close()
    assert [event.revision for event in events] == [0, 1, 2, 3]
    assert verify_stream(stream, events).verified


async def test_an_append_repeated_at_a_stale_version_is_a_conflict(tmp_path: Path) -> None:
    # The version is no longer read before the insert: the stream's key must still win over
    # the event id's, so a repeated request hears of the newer version, as before.
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    stream, event = fresh_stream(), new_event()
    try:
        await store.append(stream, [event], expected_version=0)
        with pytest.raises(ConcurrencyConflict) as conflict:
            await store.append(stream, [event], expected_version=0)
    finally:
        await store.close()
    assert conflict.value.actual == 1


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


async def test_a_history_read_before_its_next_append_chains_on_its_recomputed_head(
    tmp_path: Path,
) -> None:
    path, stream = tmp_path / "events.db", fresh_stream()
    _legacy_file(path, stream, events=2)
    store = await SQLiteEventStore.open(path)
    try:
        assert [event.hash for event in await store.read_stream(stream)] == [None, None]
        await store.append(stream, [new_event(n=2)], expected_version=2)
        await store.append(stream, [new_event(n=3)], expected_version=3)
        events = await store.read_stream(stream)
    finally:
        await store.close()
    verdict = verify_stream(stream, events).verdict()
    assert verdict["verified"] is True
    assert verdict["unhashed_prefix"] == 2


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


async def test_a_new_file_has_small_pages_and_an_older_file_keeps_its_own(
    tmp_path: Path,
) -> None:
    older = tmp_path / "older.db"
    made_before = sqlite3.connect(older)
    made_before.execute("PRAGMA journal_mode=WAL")  # SQLite's default page size, as before
    made_before.close()
    for path in (tmp_path / "new.db", older):
        store = await SQLiteEventStore.open(path)
        stream = fresh_stream()
        await store.append(stream, [new_event()], expected_version=0)
        assert len(await store.read_stream(stream)) == 1
        await store.close()
    assert _page_size(tmp_path / "new.db") == 2048
    assert _page_size(older) == 4096


def _page_size(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA page_size").fetchone()[0])
    finally:
        db.close()
