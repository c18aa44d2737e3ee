from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import psycopg
import pytest

from customerhub_shared.eventstore import ConcurrencyConflict, RecordedEvent
from customerhub_shared.eventstore.chain import verify_stream
from customerhub_shared.eventstore.postgres import PostgresEventStore
from tests.integration.eventstore.contract import EventStoreContract, fresh_stream, new_event

pytestmark = pytest.mark.postgres


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, fresh_postgres_dsn: str) -> AsyncIterator[PostgresEventStore]:
        store = await PostgresEventStore.open(fresh_postgres_dsn)
        yield store
        await store.close()


async def test_a_second_process_sees_the_same_log(fresh_postgres_dsn: str) -> None:
    first = await PostgresEventStore.open(fresh_postgres_dsn)
    second = await PostgresEventStore.open(fresh_postgres_dsn)
    try:
        stream = fresh_stream()
        await first.append(stream, [new_event()], expected_version=0)
        assert len(await second.read_stream(stream)) == 1
        with pytest.raises(ConcurrencyConflict):
            await second.append(stream, [new_event()], expected_version=0)
    finally:
        await first.close()
        await second.close()


async def test_opening_the_same_database_at_once_creates_the_schema_once(
    fresh_postgres_dsn: str,
) -> None:
    stores = await asyncio.gather(*(PostgresEventStore.open(fresh_postgres_dsn) for _ in range(4)))
    await asyncio.gather(*(store.close() for store in stores))


async def test_a_follower_wakes_promptly_on_another_processs_append(
    fresh_postgres_dsn: str,
) -> None:
    # poll_interval is far longer than the wait, so only LISTEN/NOTIFY can deliver in time.
    writer = await PostgresEventStore.open(fresh_postgres_dsn)
    reader = await PostgresEventStore.open(fresh_postgres_dsn, poll_interval=30)
    try:
        stream = fresh_stream()
        start = await reader.head_position()

        async def first_of_mine() -> RecordedEvent:
            async for event in reader.subscribe(after=start):
                if event.stream == stream:
                    return event
            raise AssertionError("subscription ended")

        follower = asyncio.create_task(first_of_mine())
        await asyncio.sleep(0.3)
        await writer.append(stream, [new_event()], expected_version=0)
        assert (await asyncio.wait_for(follower, timeout=5)).stream == stream
    finally:
        await writer.close()
        await reader.close()


async def test_concurrent_writers_in_two_processes_leave_no_gap_for_a_follower(
    fresh_postgres_dsn: str,
) -> None:
    """Positions must become visible in order: a follower that has passed position p must
    never meet a later-committing event at or below p (the sequence-gap problem)."""
    writers = [await PostgresEventStore.open(fresh_postgres_dsn) for _ in range(2)]
    follower_store = await PostgresEventStore.open(fresh_postgres_dsn, poll_interval=0.05)
    streams = [fresh_stream() for _ in range(16)]
    mine = set(streams)
    appends_per_writer = 150
    follower: asyncio.Task[None] | None = None
    try:
        start = await follower_store.head_position()
        expected_total = 0
        plan: list[list[int]] = []
        rng = random.Random(7)
        for _ in writers:
            sizes = [rng.randint(1, 3) for _ in range(appends_per_writer)]
            plan.append(sizes)
            expected_total += sum(sizes)

        seen: list[RecordedEvent] = []

        async def follow() -> None:
            async for event in follower_store.subscribe(after=start):
                seen.append(event)

        async def write(store: PostgresEventStore, sizes: list[int], seed: int) -> None:
            local = random.Random(seed)

            async def one(size: int) -> None:
                stream = local.choice(streams)
                await store.append(
                    stream, [new_event(n=n) for n in range(size)], expected_version=None
                )

            # Many appends in flight at once per store, over its whole connection pool.
            await asyncio.gather(*(one(size) for size in sizes))

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.1)
        await asyncio.wait_for(
            asyncio.gather(*(write(w, plan[i], i) for i, w in enumerate(writers))), timeout=60
        )
        head = await follower_store.head_position()
        assert head is not None

        async def caught_up() -> None:
            while not seen or seen[-1].position < head:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(caught_up(), timeout=30)

        positions = [e.position for e in seen]
        assert all(a < b for a, b in zip(positions, positions[1:], strict=False)), (
            "positions went backwards or repeated"
        )
        ours = [e for e in seen if e.stream in mine]
        assert len(ours) == expected_total, (
            f"the follower missed {expected_total - len(ours)} of {expected_total} events"
        )
        assert len({e.id for e in ours}) == expected_total
        for stream in streams:
            revisions = [e.revision for e in ours if e.stream == stream]
            assert revisions == list(range(len(revisions)))
        log = await follower_store.read_all(after=start, limit=100_000)
        assert [e.id for e in log if e.stream in mine] == [e.id for e in ours]
    finally:
        if follower is not None:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
        for store in [*writers, follower_store]:
            await store.close()


async def test_a_byte_flipped_in_a_stored_row_is_named_by_verification(
    postgres_dsn: str,
) -> None:
    store = await PostgresEventStore.open(postgres_dsn)
    try:
        stream = fresh_stream()
        events = [new_event(n=n) for n in range(3)]
        await store.append(stream, events, expected_version=0)
        async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
            await db.execute(
                "UPDATE events SET data = set_byte(data, 3, get_byte(data, 3) # 1)"
                " WHERE event_id = %s",
                (events[1].id,),
            )
        verdict = verify_stream(stream, await store.read_stream(stream)).verdict()
    finally:
        await store.close()
    assert verdict["verified"] is False
    assert verdict["first_mismatch"]["revision"] == 1
    assert verdict["first_mismatch"]["event_id"] == str(events[1].id)


async def test_a_table_from_before_hashes_gains_the_column_and_chains_over_it(
    fresh_postgres_dsn: str,
) -> None:
    stream = fresh_stream()
    async with await psycopg.AsyncConnection.connect(fresh_postgres_dsn, autocommit=True) as db:
        await db.execute(
            "CREATE TABLE events (position bigint PRIMARY KEY, stream text NOT NULL,"
            " revision integer NOT NULL, event_id uuid NOT NULL UNIQUE, type text NOT NULL,"
            " data bytea NOT NULL, metadata bytea NOT NULL, recorded_at timestamptz NOT NULL,"
            " UNIQUE (stream, revision))"
        )
        for revision in range(2):
            event = new_event(n=revision)
            await db.execute(
                "INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
                (revision + 1, stream, revision, event.id, event.type, event.data, event.metadata),
            )
    store = await PostgresEventStore.open(fresh_postgres_dsn)
    try:
        await store.append(stream, [new_event(n=2)], expected_version=2)
        events = await store.read_stream(stream)
    finally:
        await store.close()
    assert verify_stream(stream, events).verdict() == {
        "verified": True,
        "events": 3,
        "head": events[-1].hash,
        "unhashed_prefix": 2,
    }


async def test_appends_by_two_processes_in_turn_keep_one_chain(fresh_postgres_dsn: str) -> None:
    """Each store remembers the heads it appended; the other's append must not be chained over."""
    first = await PostgresEventStore.open(fresh_postgres_dsn)
    second = await PostgresEventStore.open(fresh_postgres_dsn)
    try:
        stream = fresh_stream()
        for version in range(6):
            writer = first if version % 2 == 0 else second
            await writer.append(stream, [new_event()], expected_version=version)
        await first.append(stream, [new_event()], expected_version=None)
        walk = verify_stream(stream, await first.read_stream(stream))
        assert walk.verified, walk.first_mismatch
        assert walk.events == 7
    finally:
        await first.close()
        await second.close()
