"""The SQLite log read stream after stream (what a rebuild from nothing folds): only the
streams of a prefix, in (stream, revision) order, from a (stream, revision) on, none past
`until`; the sizes of those streams, and ranges of them read in another process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from tests.integration.eventstore.contract import new_event


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    """customer-b at 1-2, name-x at 3, customer-a at 4-6, customer-c at 7, customerz at 8."""
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    try:
        for stream, count in [("customer-b", 2), ("name-x", 1), ("customer-a", 2)]:
            await store.append(stream, [new_event()], expected_version=None)
            for _ in range(count - 1):
                await store.append(stream, [new_event()], expected_version=None)
        await store.append("customer-a", [new_event()], expected_version=None)  # position 6
        await store.append("customer-c", [new_event()], expected_version=None)
        await store.append("customerz", [new_event()], expected_version=None)
        yield store
    finally:
        await store.close()


async def test_the_streams_of_a_prefix_come_in_stream_then_revision_order(
    store: SQLiteEventStore,
) -> None:
    assert store.reads_in_stream_order

    async def read(after: tuple[str, int] | None, until: int, limit: int = 10) -> list[str]:
        page = await store.read_in_stream_order(
            prefix="customer-", after=after, until=until, limit=limit
        )
        return [f"{event.stream}/{event.revision}@{event.position}" for event in page]

    everything = ["customer-a/0@4", "customer-a/1@5", "customer-a/2@6"]
    everything += ["customer-b/0@1", "customer-b/1@2"]
    assert await read(None, until=6) == everything
    assert await read(None, until=5) == [*everything[:2], *everything[3:]]
    assert await read(("customer-a", 1), until=6) == everything[2:]
    assert await read(("customer-a", 0), until=6, limit=2) == everything[1:3]
    assert await read(("customer-b", 1), until=6) == []


async def test_the_sizes_of_a_prefixs_streams_come_in_name_order_up_to_until(
    store: SQLiteEventStore,
) -> None:
    async def sizes(after: str | None, until: int, limit: int = 10) -> list[tuple[str, int]]:
        return await store.stream_sizes(prefix="customer-", after=after, until=until, limit=limit)

    assert await sizes(None, until=8) == [("customer-a", 3), ("customer-b", 2), ("customer-c", 1)]
    assert await sizes(None, until=5) == [("customer-a", 2), ("customer-b", 2)]
    assert await sizes(None, until=3, limit=1) == [("customer-b", 2)]
    assert await sizes("customer-a", until=8, limit=1) == [("customer-b", 2)]
    assert await sizes("customer-b", until=8) == [("customer-c", 1)]
    assert await sizes("customer-c", until=8) == []


def test_a_range_of_streams_is_read_over_a_connection_of_its_own(
    store: SQLiteEventStore,
) -> None:
    opener = store.stream_range_opener()
    read = opener()  # as a rebuild's worker does, in its own process

    def streams(first: str, last: str, until: int) -> list[str]:
        return [f"{e.stream}/{e.revision}@{e.position}" for e in read(first, last, until)]

    a_and_b = ["customer-a/0@4", "customer-a/1@5", "customer-a/2@6"]
    a_and_b += ["customer-b/0@1", "customer-b/1@2"]
    assert streams("customer-a", "customer-b", until=8) == a_and_b
    assert streams("customer-a", "customer-b", until=4) == ["customer-a/0@4", *a_and_b[3:]]
    assert streams("customer-b", "customer-c", until=8) == [*a_and_b[3:], "customer-c/0@7"]
