"""The parked-events contract, once, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customerhub_shared.consumers import ParkedStore
from customerhub_shared.consumers.parked_postgres import PostgresParkedStore
from customerhub_shared.consumers.parked_sqlite import SQLiteParkedStore
from customerhub_shared.eventstore import RecordedEvent


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def parked(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ParkedStore]:
    if request.param == "sqlite":
        store: ParkedStore = SQLiteParkedStore(tmp_path / "parked.db")
    else:
        store = await PostgresParkedStore.open(request.getfixturevalue("postgres_dsn"))
    yield store
    await store.close()


def a_consumer() -> str:
    return f"customers-{uuid.uuid4()}"


def event(stream: str, revision: int, position: int) -> RecordedEvent:
    return RecordedEvent(
        id=uuid.uuid4(),
        stream=stream,
        revision=revision,
        position=position,
        type="customerhub.customer.registered.v1",
        data=b'{"bad": "\\u00e9"}\x00\xff',
        metadata=b"{}",
        recorded_at=datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC),
        hash="abc",
    )


async def test_a_parked_event_comes_back_as_it_was_given(parked: ParkedStore) -> None:
    consumer, given = a_consumer(), event("customer-1", 3, 2**40)
    parked_id = await parked.park(consumer, given, error="ValueError: boom", attempts=5)
    [row] = await parked.parked(consumer)
    assert row.id == parked_id and row.event == given and row.consumer == consumer
    assert (row.error, row.attempts, row.status) == ("ValueError: boom", 5, "parked")
    assert await parked.get(parked_id) == row


async def test_parking_the_same_event_twice_keeps_one(parked: ParkedStore) -> None:
    consumer, given = a_consumer(), event("customer-1", 0, 1)
    first = await parked.park(consumer, given, error="a", attempts=5)
    again = await parked.park(consumer, given, error="b", attempts=5)
    assert first == again and len(await parked.parked(consumer)) == 1


async def test_blocked_streams_and_counts_are_per_consumer(parked: ParkedStore) -> None:
    one, other = a_consumer(), a_consumer()
    await parked.park(one, event("customer-a", 0, 1), error="x", attempts=5)
    await parked.park(one, event("customer-a", 1, 2), error="behind", attempts=0)
    await parked.park(other, event("customer-b", 0, 3), error="x", attempts=5)
    assert await parked.blocked_streams(one) == {"customer-a"}
    counts = await parked.counts()
    assert (counts[one], counts[other]) == (2, 1)


async def test_marking_an_event_marks_those_behind_it_for_retry(parked: ParkedStore) -> None:
    consumer = a_consumer()
    head = await parked.park(consumer, event("customer-a", 0, 1), error="x", attempts=5)
    await parked.park(consumer, event("customer-a", 1, 4), error="behind", attempts=0)
    await parked.park(consumer, event("customer-b", 0, 2), error="x", attempts=5)
    marked = await parked.mark(head, "skipped")
    assert [(row.event.position, row.status) for row in marked] == [(1, "skipped"), (4, "retry")]
    statuses = {row.event.stream: row.status for row in await parked.parked(consumer)}
    assert statuses["customer-b"] == "parked"
    assert await parked.mark(10**12, "retry") == []


async def test_a_failed_retry_parks_again_and_removal_unblocks(parked: ParkedStore) -> None:
    consumer = a_consumer()
    parked_id = await parked.park(consumer, event("customer-a", 0, 1), error="x", attempts=5)
    await parked.mark(parked_id, "retry")
    await parked.failed_again(parked_id, "KeyError: still")
    row = await parked.get(parked_id)
    assert row is not None and (row.status, row.error, row.attempts) == (
        "parked",
        "KeyError: still",
        6,
    )
    await parked.remove(parked_id)
    assert await parked.blocked_streams(consumer) == set()
    assert consumer not in await parked.counts()


async def test_blocked_streams_follow_each_change_asked_again_and_again(
    parked: ParkedStore,
) -> None:
    consumer, other = a_consumer(), a_consumer()
    assert await parked.blocked_streams(consumer) == set()
    assert await parked.blocked_streams(consumer) == set()
    first = await parked.park(consumer, event("customer-a", 0, 1), error="x", attempts=5)
    assert await parked.blocked_streams(consumer) == {"customer-a"}
    await parked.park(other, event("customer-b", 0, 2), error="x", attempts=5)
    assert await parked.blocked_streams(consumer) == {"customer-a"}
    assert await parked.blocked_streams(other) == {"customer-b"}
    await parked.park(consumer, event("customer-c", 0, 3), error="x", attempts=5)
    assert await parked.blocked_streams(consumer) == {"customer-a", "customer-c"}
    await parked.remove(first)
    assert await parked.blocked_streams(consumer) == {"customer-c"}
    # What a caller does with the answer is its own business.
    (await parked.blocked_streams(consumer)).add("customer-z")
    assert await parked.blocked_streams(consumer) == {"customer-c"}


async def test_sqlite_blocked_streams_see_what_another_process_parked_and_removed(
    tmp_path: Path,
) -> None:
    here, there = SQLiteParkedStore(tmp_path / "p.db"), SQLiteParkedStore(tmp_path / "p.db")
    consumer = a_consumer()
    try:
        assert await here.blocked_streams(consumer) == set()
        parked_id = await there.park(consumer, event("customer-a", 0, 1), error="x", attempts=5)
        assert await here.blocked_streams(consumer) == {"customer-a"}
        await there.remove(parked_id)
        assert await here.blocked_streams(consumer) == set()
    finally:
        await here.close()
        await there.close()
