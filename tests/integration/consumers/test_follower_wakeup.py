"""A follower hears of an append made while it was handling a batch: it does not rest until
the next append or the end of its idle pause (a real SQLite log, woken in process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from customerhub_shared.consumers import Runner
from customerhub_shared.eventstore import EventStore, NewEvent, RecordedEvent
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.ids import new_uuid

# Far longer than the wait below: only hearing of the append explains a quick apply.
IDLE_PAUSE = 10.0


def _event() -> NewEvent:
    return NewEvent(id=new_uuid(), type="noted", data=b"{}", metadata=b"{}")


class AppendingWhileHandling:
    """Records positions; while handling the first batch, appends one more event (as a
    request does while a projector writes)."""

    name = "appending-while-handling"

    def __init__(self, events: EventStore) -> None:
        self.events = events
        self.applied: list[int] = []
        self.stored: int | None = None
        self.handled_twice = asyncio.Event()

    async def position(self) -> int | None:
        return self.stored

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        if not self.applied:
            await self.events.append(f"note-{new_uuid()}", [_event()], expected_version=0)
        self.applied += [event.position for event in batch]
        self.stored = batch[-1].position if covered is None else covered
        if len(self.applied) >= 2:
            self.handled_twice.set()


@pytest.fixture
async def events(tmp_path: Path) -> AsyncIterator[EventStore]:
    store = await SQLiteEventStore.open(tmp_path / "events.db", poll_interval=IDLE_PAUSE)
    yield store
    await store.close()


async def test_an_append_made_during_a_batch_is_applied_without_waiting_out_the_pause(
    events: EventStore,
) -> None:
    consumer = AppendingWhileHandling(events)
    runner = Runner(consumer, events=events, idle_pause=IDLE_PAUSE)
    stop = asyncio.Event()
    following = asyncio.create_task(runner.follow(stop=stop))
    try:
        await events.append(f"note-{new_uuid()}", [_event()], expected_version=0)
        await asyncio.wait_for(consumer.handled_twice.wait(), 2.0)
        assert consumer.applied == sorted(consumer.applied) and len(consumer.applied) == 2
    finally:
        stop.set()
        await asyncio.wait_for(following, 5.0)
