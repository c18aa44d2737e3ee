"""Poison events are parked, not retried for ever: a consumer over a real SQLite event log and
parked store, with a handler that raises for one event until it is fixed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customerhub_shared.bus.handlers import ConsumerFeed, Delivery
from customerhub_shared.consumers import Consumers, ConsumerStatus, ParkedStore, Runner
from customerhub_shared.consumers.parked_sqlite import SQLiteParkedStore
from customerhub_shared.eventstore import EventStore, NewEvent, RecordedEvent
from customerhub_shared.eventstore.sqlite import SQLiteEventStore

ATTEMPTS = 3


class Poisoned(Exception):
    pass


class Ledger:
    """A consumer that records (stream, revision) in order, raising for the poisoned ones."""

    name = "ledger"

    def __init__(self) -> None:
        self.applied: list[tuple[str, int]] = []
        self.stored: int | None = None
        self.poisoned: set[tuple[str, int]] = set()
        self.calls = 0

    async def position(self) -> int | None:
        return self.stored

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        self.calls += 1
        if any((event.stream, event.revision) in self.poisoned for event in batch):
            raise Poisoned("cannot apply")
        self.applied += [(event.stream, event.revision) for event in batch]
        if batch or covered is not None:
            self.stored = batch[-1].position if covered is None else covered


@pytest.fixture
async def events(tmp_path: Path) -> AsyncIterator[EventStore]:
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    yield store
    await store.close()


@pytest.fixture
async def parked(tmp_path: Path) -> AsyncIterator[ParkedStore]:
    store = SQLiteParkedStore(tmp_path / "parked.db")
    yield store
    await store.close()


async def append(events: EventStore, stream: str) -> int:
    version = await events.stream_version(stream)
    new = NewEvent(id=uuid.uuid4(), type="test.happened.v1", data=b"{}", metadata=b"{}")
    return (await events.append(stream, [new], expected_version=version)).position


async def eventually(check: Callable[[], object], seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await _holds(check):
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.02)


async def _holds(check: Callable[[], object]) -> bool:
    result = check()
    if asyncio.iscoroutine(result):
        result = await result
    return bool(result)


async def test_a_failing_event_is_parked_after_n_attempts_and_the_rest_flows(
    events: EventStore, parked: ParkedStore
) -> None:
    ledger = Ledger()
    ledger.poisoned.add(("customer-a", 1))
    for stream in ("customer-a", "customer-b", "customer-a", "customer-c", "customer-a"):
        head = await append(events, stream)
    runner = Runner(ledger, events=events, batch_size=10, parked=parked, max_attempts=ATTEMPTS)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.follow(stop=stop))
    try:
        await eventually(lambda: ledger.stored == head)
        assert ledger.applied == [("customer-a", 0), ("customer-b", 0), ("customer-c", 0)]
        rows = await parked.parked("ledger")
        assert [(r.event.stream, r.event.revision, r.attempts) for r in rows] == [
            ("customer-a", 1, ATTEMPTS),
            ("customer-a", 2, 0),
        ]
        assert rows[0].error.startswith("Poisoned: cannot apply")
        assert "behind" in rows[1].error

        # Later events: the parked customer's park behind, the others flow.
        await append(events, "customer-a")
        head = await append(events, "customer-b")
        await eventually(lambda: ledger.stored == head)
        assert ledger.applied[-1] == ("customer-b", 1)
        listed = Consumers(parked)
        listed.add(runner)
        assert await listed.statuses() == [ConsumerStatus("ledger", head, 3)]

        # Fixed: a retry applies the parked customer's events in their order.
        ledger.poisoned.clear()
        await parked.mark(rows[0].id, "retry")
        await eventually(lambda: _empty(parked))
        assert ledger.applied[-3:] == [("customer-a", 1), ("customer-a", 2), ("customer-a", 3)]
        assert ledger.stored == head, "a retry never moves the position back"

        # The stream flows again.
        head = await append(events, "customer-a")
        await eventually(lambda: ledger.stored == head)
        assert ledger.applied[-1] == ("customer-a", 4)
    finally:
        stop.set()
        await task


async def test_a_retry_that_fails_again_stays_parked_and_skip_lets_the_rest_through(
    events: EventStore, parked: ParkedStore
) -> None:
    ledger = Ledger()
    ledger.poisoned.add(("customer-a", 0))
    await append(events, "customer-a")
    head = await append(events, "customer-a")
    runner = Runner(ledger, events=events, batch_size=10, parked=parked, max_attempts=ATTEMPTS)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.follow(stop=stop))
    try:
        await eventually(lambda: ledger.stored == head)
        first, _ = await parked.parked("ledger")
        await parked.mark(first.id, "retry")
        await eventually(lambda: _failed_again(parked, first.id))
        assert ledger.applied == []
        await parked.mark(first.id, "skipped")
        await eventually(lambda: _empty(parked))
        assert ledger.applied == [("customer-a", 1)]
    finally:
        stop.set()
        await task


async def test_without_a_parked_store_a_failing_batch_is_retried_until_it_passes(
    events: EventStore,
) -> None:
    ledger = Ledger()
    ledger.poisoned.add(("customer-a", 0))
    head = await append(events, "customer-a")
    runner = Runner(ledger, events=events, batch_size=10, max_attempts=1)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.follow(stop=stop))
    try:
        await eventually(lambda: ledger.calls >= 3)
        assert ledger.stored is None
        ledger.poisoned.clear()
        await eventually(lambda: ledger.stored == head)
        assert ledger.applied == [("customer-a", 0)]
    finally:
        stop.set()
        await task


async def _empty(parked: ParkedStore) -> bool:
    return not await parked.parked("ledger")


async def _failed_again(parked: ParkedStore, parked_id: int) -> bool:
    row = await parked.get(parked_id)
    return row is not None and row.status == "parked" and row.attempts == ATTEMPTS + 1


def recorded(stream: str, revision: int, position: int) -> RecordedEvent:
    return RecordedEvent(
        id=uuid.uuid4(),
        stream=stream,
        revision=revision,
        position=position,
        type="test.happened.v1",
        data=b"{}",
        metadata=b"{}",
        recorded_at=datetime.now(UTC),
    )


async def test_a_kafka_delivery_that_keeps_failing_is_parked_after_n_attempts(
    parked: ParkedStore,
) -> None:
    ledger = Ledger()
    ledger.poisoned.add(("customer-a", 0))
    batch = [
        recorded("customer-a", 0, 3),
        recorded("customer-b", 0, 5),
        recorded("customer-a", 1, 8),
    ]
    feed = ConsumerFeed(Runner(ledger, events=None, parked=parked, max_attempts=ATTEMPTS))
    delivery = Delivery(batch, watermark=9)
    for _ in range(ATTEMPTS - 1):  # the agent hands a failed delivery over again
        with pytest.raises(Poisoned):
            await feed(delivery)
    await feed(delivery)
    assert ledger.applied == [("customer-b", 0)]
    assert ledger.stored == 9, "the watermark is stored past the parked events"
    rows = await parked.parked("ledger")
    assert [(row.event.position, row.attempts) for row in rows] == [(3, ATTEMPTS), (8, 0)]

    ledger.poisoned.clear()
    await parked.mark(rows[0].id, "retry")
    await feed.runner.apply_marked(now=10**9)
    assert ledger.applied[-2:] == [("customer-a", 0), ("customer-a", 1)]
    assert await parked.parked("ledger") == [] and ledger.stored == 9
