"""The ownership reconciler as a consumer of the runtime (`customerhub_shared.consumers`):
the runtime follows the log and hands each batch over, with its backoff and parking."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from customerhub_shared.consumers import ParkedStore, Runner
from customerhub_shared.eventstore import EventStore, RecordedEvent
from equipment.application.reconciler import OwnershipReconciler

log = structlog.get_logger(__name__)
# Requests that wait for the reconciler wake it; the pause only bounds how late it notices
# changes nobody waits for (a merge, another process's writes). Longer pauses make fewer,
# larger customer writes while a bulk assignment is still appending.
IDLE_PAUSE_SECONDS = 0.2


class _Reporting:
    """The reconciler, saying what each batch did (a reconciler process of its own)."""

    def __init__(self, reconciler: OwnershipReconciler, events: EventStore) -> None:
        self.reconciler = reconciler
        self.events = events
        self.name = reconciler.name

    async def position(self) -> int | None:
        return await self.reconciler.position()

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        await self.reconciler.process(batch, covered=covered)
        if batch:
            last = batch[-1].position
            head = await self.events.head_position() or last
            log.info(
                "reconciler.batch",
                events=len(batch),
                first=batch[0].position,
                position=last,
                lag=head - last,
            )


def reconciler_runner(
    reconciler: OwnershipReconciler,
    events: EventStore,
    *,
    batch_size: int,
    report: bool = False,
    parked: ParkedStore | None = None,
    max_attempts: int = 5,
) -> Runner:
    """Caught up, the runner rests until woken (a request waits) or the pause ends, rather
    than chase a bulk request append by append, one customer write per few items."""
    return Runner(
        _Reporting(reconciler, events) if report else reconciler,
        events=events,
        batch_size=batch_size,
        parked=parked,
        max_attempts=max_attempts,
        idle_pause=IDLE_PAUSE_SECONDS,
        idle=reconciler.woken,
    )
