"""The event-processing runtime: every consumer of the log (projectors, the reconciler,
notifications, the relay, the Kafka agents) is a `process(batch)` run by a `Runner`."""

from __future__ import annotations

from dataclasses import dataclass

from customerhub_shared.consumers.attached import Attached, running
from customerhub_shared.consumers.backoff import backoff
from customerhub_shared.consumers.parked import ParkedEvent, ParkedStore
from customerhub_shared.consumers.port import Consumer, Refreshing
from customerhub_shared.consumers.runner import Runner, following
from customerhub_shared.consumers.waiting import Progressed, wait_for_position
from customerhub_shared.eventstore import EventStore
from customerhub_shared.settings import Settings

__all__ = [
    "Attached",
    "Consumer",
    "ConsumerStatus",
    "Consumers",
    "ParkedEvent",
    "ParkedStore",
    "Progressed",
    "Refreshing",
    "Runner",
    "backoff",
    "following",
    "open_parked_store",
    "runner",
    "running",
    "wait_for_position",
]


@dataclass(frozen=True, slots=True)
class ConsumerStatus:
    name: str
    position: int | None
    parked: int


class Consumers:
    """The consumers one process runs (`app.state.consumers`), and where they park events."""

    def __init__(self, parked: ParkedStore | None) -> None:
        self.parked = parked
        self.runners: list[Runner] = []

    def add(self, *runners: Runner) -> None:
        self.runners.extend(runners)

    async def statuses(self) -> list[ConsumerStatus]:
        """Each consumer's name, position and parked count, as stored right now."""
        counts = await self.parked.counts() if self.parked is not None else {}
        return [
            ConsumerStatus(runner.name, await runner.position(), counts.get(runner.name, 0))
            for runner in self.runners
        ]


async def open_parked_store(settings: Settings) -> ParkedStore:
    """Beside the checkpoints: PostgreSQL wherever the deployment has one, else SQLite."""
    if settings.postgres_dsn and settings.event_store in ("postgres", "kurrentdb"):
        from customerhub_shared.consumers.parked_postgres import PostgresParkedStore

        return await PostgresParkedStore.open(settings.postgres_dsn)
    from customerhub_shared.consumers.parked_sqlite import SQLiteParkedStore

    return SQLiteParkedStore(settings.data_dir / "parked.db")


def runner(
    consumer: Consumer,
    settings: Settings,
    *,
    events: EventStore | None,
    parked: ParkedStore | None,
) -> Runner:
    """A runner with the deployment's batch size and attempts before parking."""
    return Runner(
        consumer,
        events=events,
        batch_size=settings.projector_batch_size,
        parked=parked,
        max_attempts=settings.consumer_max_attempts,
    )
