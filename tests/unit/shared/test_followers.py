"""A follower's lag: events behind the head and how long the oldest of them has waited."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from customerhub_shared.eventstore import NewEvent, RecordedEvent
from customerhub_shared.followers import COUNT_LIMIT, Follower, follower_lag
from tests.unit.equipment.fakes import InMemoryEventStore

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


class SparseEventStore(InMemoryEventStore):
    """Positions a hundred apart, as KurrentDB's commit positions are."""

    dense_positions = False

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        spread = [dataclasses.replace(e, position=e.position * 100) for e in self.log]
        return [e for e in spread if after is None or e.position > after][:limit]

    async def head_position(self) -> int | None:
        return len(self.log) * 100 if self.log else None


async def logged(store: InMemoryEventStore, count: int) -> None:
    for _ in range(count):
        event = NewEvent(uuid.uuid4(), "customerhub.test.v1", b"{}", b"{}")
        await store.append(f"customer-{uuid.uuid4()}", [event], expected_version=0)
    # The oldest event was recorded a minute before NOW, the others after it.
    store.log[:] = [
        dataclasses.replace(e, recorded_at=NOW - timedelta(seconds=60 - i))
        for i, e in enumerate(store.log)
    ]


def at(position: int | None) -> Follower:
    async def read() -> int | None:
        return position

    return Follower("customers", read)


async def test_lag_on_dense_positions_is_their_difference_and_the_oldest_events_wait() -> None:
    store = InMemoryEventStore()
    await logged(store, 5)
    lag = await follower_lag(at(2), store, head=5, now=NOW)
    assert (lag.position, lag.head, lag.events, lag.seconds) == (2, 5, 3, 58.0)


async def test_a_follower_that_covered_nothing_is_behind_by_the_whole_log() -> None:
    store = InMemoryEventStore()
    await logged(store, 4)
    lag = await follower_lag(at(None), store, head=4, now=NOW)
    assert (lag.events, lag.seconds) == (4, 60.0)


async def test_a_caught_up_follower_has_no_lag_even_on_an_idle_log() -> None:
    store = InMemoryEventStore()
    await logged(store, 3)
    lag = await follower_lag(at(3), store, head=3, now=NOW + timedelta(hours=1))
    assert (lag.events, lag.seconds) == (0, 0.0)
    empty = await follower_lag(at(None), InMemoryEventStore(), head=None, now=NOW)
    assert (empty.events, empty.seconds) == (0, 0.0)


async def test_lag_on_sparse_positions_counts_the_events_up_to_a_limit() -> None:
    store = SparseEventStore()
    await logged(store, 5)
    lag = await follower_lag(at(200), store, head=500, now=NOW)
    assert (lag.events, lag.seconds) == (3, 58.0)
    await logged(store, COUNT_LIMIT)
    lag = await follower_lag(at(None), store, head=await store.head_position(), now=NOW)
    assert lag.events == COUNT_LIMIT
