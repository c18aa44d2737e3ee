"""The SQLite log read stream after stream (what a rebuild from nothing folds): only the
streams of a prefix, in (stream, revision) order, from a (stream, revision) on, none past
`until`."""

from __future__ import annotations

from pathlib import Path

from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from tests.integration.eventstore.contract import new_event


async def test_the_streams_of_a_prefix_come_in_stream_then_revision_order(
    tmp_path: Path,
) -> None:
    store = await SQLiteEventStore.open(tmp_path / "events.db")
    try:
        for stream, count in [("customer-b", 2), ("name-x", 1), ("customer-a", 2)]:
            await store.append(stream, [new_event()], expected_version=None)
            for _ in range(count - 1):
                await store.append(stream, [new_event()], expected_version=None)
        await store.append("customer-a", [new_event()], expected_version=None)  # position 6
        await store.append("customerz", [new_event()], expected_version=None)
        assert store.reads_in_stream_order

        async def read(after: tuple[str, int] | None, until: int, limit: int = 10) -> list[str]:
            page = await store.read_in_stream_order(
                prefix="customer-", after=after, until=until, limit=limit
            )
            return [f"{event.stream}/{event.revision}@{event.position}" for event in page]

        everything = ["customer-a/0@4", "customer-a/1@5", "customer-a/2@6"]
        everything += ["customer-b/0@1", "customer-b/1@2"]
        assert await read(None, until=7) == everything
        assert await read(None, until=5) == [*everything[:2], *everything[3:]]
        assert await read(("customer-a", 1), until=7) == everything[2:]
        assert await read(("customer-a", 0), until=7, limit=2) == everything[1:3]
        assert await read(("customer-b", 1), until=7) == []
    finally:
        await store.close()
