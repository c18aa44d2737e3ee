"""Positions on PostgreSQL commit out of order; readers must still see the log in order, whole.

A trigger (installed in the test's own database) holds an append inside its transaction after
it has taken its position, while the test holds an advisory lock, and fails appends to streams
named `…-doomed`, so a position is taken and then rolled back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.eventstore.postgres import PostgresEventStore
from tests.integration.eventstore.contract import new_event

pytestmark = pytest.mark.postgres

GATE = 4242

_TRIGGER = f"""
CREATE FUNCTION hold_or_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream LIKE 'held-%' THEN
        PERFORM pg_advisory_xact_lock_shared({GATE});
    END IF;
    IF NEW.stream LIKE '%-doomed' THEN
        RAISE EXCEPTION 'append refused by the test';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hold_or_fail BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION hold_or_fail();
"""


@pytest.fixture
async def store(fresh_postgres_dsn: str) -> AsyncIterator[PostgresEventStore]:
    store = await PostgresEventStore.open(fresh_postgres_dsn, poll_interval=0.05)
    async with await psycopg.AsyncConnection.connect(fresh_postgres_dsn, autocommit=True) as conn:
        await conn.execute(_TRIGGER)
    yield store
    await store.close()


@pytest.fixture
async def gate(fresh_postgres_dsn: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object]]]:
    """A session holding the advisory lock that held appends wait for, until it unlocks."""
    conn = await psycopg.AsyncConnection.connect(fresh_postgres_dsn, autocommit=True)
    await conn.execute("SELECT pg_advisory_lock(%s)", (GATE,))
    yield conn
    await conn.close()


async def held_appends(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND objid = %s"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (GATE,),
            )
        ).fetchone()
    return 0 if row is None else int(row[0])


async def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def stream(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def follow(store: PostgresEventStore, after: int | None, into: list[RecordedEvent]) -> None:
    async for event in store.subscribe(after=after):
        into.append(event)


async def test_a_lower_position_committing_late_is_delivered_first_never_skipped(
    store: PostgresEventStore,
    gate: psycopg.AsyncConnection[tuple[object]],
    fresh_postgres_dsn: str,
) -> None:
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(follow(store, None, seen))
    try:
        held = asyncio.create_task(store.append(stream("held"), [new_event()], expected_version=0))
        while await held_appends(fresh_postgres_dsn) == 0:
            await asyncio.sleep(0.01)
        assert not held.done()
        later = [stream("later") for _ in range(3)]
        positions = [
            (await store.append(s, [new_event()], expected_version=0)).position for s in later
        ]

        # Committed, yet invisible to readers while a lower position is still in flight.
        async with await psycopg.AsyncConnection.connect(fresh_postgres_dsn) as conn:
            committed = await (await conn.execute("SELECT count(*) FROM events")).fetchone()
        assert committed == (3,)
        assert await store.read_all() == []
        assert await store.head_position() is None
        await asyncio.sleep(0.5)  # ten poll intervals: the follower has looked, often
        assert seen == []

        await gate.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
        low = (await asyncio.wait_for(held, timeout=10)).position
        assert low < min(positions)
        await eventually(lambda: len(seen) == 4)
        assert [e.position for e in seen] == [low, *positions]
        assert [e.position for e in await store.read_all()] == [low, *positions]
        assert await store.head_position() == positions[-1]
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)


async def test_a_position_rolled_back_after_being_held_releases_the_readers(
    store: PostgresEventStore,
    gate: psycopg.AsyncConnection[tuple[object]],
    fresh_postgres_dsn: str,
) -> None:
    doomed = asyncio.create_task(
        store.append(stream("held") + "-doomed", [new_event()], expected_version=0)
    )
    while await held_appends(fresh_postgres_dsn) == 0:
        await asyncio.sleep(0.01)
    after = await store.append(stream("later"), [new_event()], expected_version=0)
    assert await store.read_all() == []

    await gate.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
    with pytest.raises(psycopg.errors.RaiseException):
        await doomed
    assert [e.position for e in await store.read_all()] == [after.position]
    assert after.position == 2  # position 1 was taken, then rolled back: a gap


async def test_a_rollback_gap_does_not_stall_a_follower(
    store: PostgresEventStore, fresh_postgres_dsn: str
) -> None:
    # A follower that only NOTIFY can wake in time: no timeout is waited out for the gap.
    reader = await PostgresEventStore.open(fresh_postgres_dsn, poll_interval=30)
    seen: list[RecordedEvent] = []
    follower = asyncio.create_task(follow(reader, None, seen))
    try:
        await asyncio.sleep(0.3)
        for _ in range(3):
            with pytest.raises(psycopg.errors.RaiseException):
                await store.append(stream("gap") + "-doomed", [new_event()], expected_version=0)
        kept = await store.append(stream("kept"), [new_event()], expected_version=0)
        assert kept.position == 4
        assert [e.position for e in await store.read_all()] == [4]
        await eventually(lambda: len(seen) == 1, timeout=5)
        assert seen[0].position == kept.position
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await reader.close()


async def test_a_store_from_before_the_sequence_continues_after_its_last_position(
    fresh_postgres_dsn: str,
) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_postgres_dsn, autocommit=True) as conn:
        await conn.execute(_LEGACY_SCHEMA)
    store = await PostgresEventStore.open(fresh_postgres_dsn)
    try:
        result = await store.append(stream("new"), [new_event()], expected_version=0)
        assert result.position == 42
        assert [e.position for e in await store.read_all()] == [7, 42]
        async with await psycopg.AsyncConnection.connect(fresh_postgres_dsn) as conn:
            legacy = await (await conn.execute("SELECT to_regclass('log_head')")).fetchone()
        assert legacy == (None,), "an old writer must fail, not reuse positions from log_head"
    finally:
        await store.close()


async def test_positions_an_old_writer_took_after_the_upgrade_are_not_handed_out_again(
    fresh_postgres_dsn: str,
) -> None:
    store = await PostgresEventStore.open(fresh_postgres_dsn)
    await store.append(stream("new"), [new_event()], expected_version=0)
    await store.close()
    # An old writer starts: it makes its counter from the log, then appends at 2 and 3.
    async with await psycopg.AsyncConnection.connect(fresh_postgres_dsn, autocommit=True) as conn:
        await conn.execute(_OLD_WRITER_APPENDS)
    store = await PostgresEventStore.open(fresh_postgres_dsn)
    try:
        result = await store.append(stream("new"), [new_event()], expected_version=0)
        assert result.position == 4
        assert [e.position for e in await store.read_all()] == [1, 2, 3, 4]
    finally:
        await store.close()


_OLD_WRITER_APPENDS = """
CREATE TABLE log_head (
    only_row boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint  NOT NULL
);
INSERT INTO log_head SELECT true, MAX(position) + 2 FROM events;
INSERT INTO events VALUES
    (2, 'old-1', 0, gen_random_uuid(), 'customerhub.test.happened.v1', '{}', '{}', now()),
    (3, 'old-1', 1, gen_random_uuid(), 'customerhub.test.happened.v1', '{}', '{}', now());
"""


# The schema as the log_head store left it: one event at 7, the counter at 41 (later
# positions were taken by appends that failed).
_LEGACY_SCHEMA = """
CREATE TABLE events (
    position    bigint      NOT NULL PRIMARY KEY,
    stream      text        NOT NULL,
    revision    integer     NOT NULL,
    event_id    uuid        NOT NULL,
    type        text        NOT NULL,
    data        bytea       NOT NULL,
    metadata    bytea       NOT NULL,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_revision_key UNIQUE (stream, revision)
);
CREATE TABLE log_head (
    only_row boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint  NOT NULL
);
INSERT INTO log_head VALUES (true, 41);
INSERT INTO events VALUES
    (7, 'old-1', 0, gen_random_uuid(), 'customerhub.test.happened.v1', '{}', '{}', now());
"""
