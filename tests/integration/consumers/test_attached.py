"""The one shape every service's `attach()` answers: `running` lists the consumers, follows
the log with them, runs the background work, and stops it all in the reverse order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from customerhub_shared.consumers import Attached, Consumers, Runner, running
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from tests.integration.consumers.test_parking import Ledger, append, eventually


def _work(name: str, journal: list[str]) -> Attached:
    @asynccontextmanager
    async def background() -> AsyncIterator[None]:
        journal.append(f"start {name}")
        yield
        journal.append(f"stop {name}")

    return Attached(background=(background,))


async def test_the_consumers_follow_the_log_and_the_background_stops_in_reverse(
    tmp_path: Path,
) -> None:
    events = await SQLiteEventStore.open(tmp_path / "events.db")
    journal: list[str] = []
    customers, items, woken = Ledger(), Ledger(), []
    projectors = Attached.following_log(Runner(customers, events=events, idle_pause=0.01))
    reconciling = Attached.following_log(
        Runner(items, events=events, idle_pause=0.01), on_stop=lambda: woken.append(True)
    )
    registry = Consumers(parked=None)
    try:
        async with running(registry, _work("imports", journal) + projectors, reconciling):
            await append(events, "customer-1")
            await eventually(lambda: customers.applied == items.applied == [("customer-1", 0)])
            assert [runner.name for runner in registry.runners] == ["ledger", "ledger"]
            assert journal == ["start imports"]
            assert woken == []
        assert journal == ["start imports", "stop imports"]
        assert woken == [True]
        await append(events, "customer-2")
        await asyncio.sleep(0.1)
        assert customers.applied == [("customer-1", 0)], "a stopped follower went on"
    finally:
        await events.close()
