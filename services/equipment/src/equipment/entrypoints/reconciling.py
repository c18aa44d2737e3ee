"""The ownership reconciler's agent: follow the global log, hand each batch to the reconciler.

A failing batch (a store briefly away, a conflict that outlived the retries) is logged and
retried with growing pauses; nothing is skipped, since the checkpoint did not move.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from customerhub_shared.eventstore import EventStore
from equipment.application.reconciler import OwnershipReconciler

log = structlog.get_logger(__name__)
# Requests that wait for the reconciler wake it; the pause only bounds how late it notices
# changes nobody waits for (a merge, another process's writes). Longer pauses make fewer,
# larger customer writes while a bulk assignment is still appending.
IDLE_PAUSE_SECONDS = 0.2


async def follow(
    reconciler: OwnershipReconciler,
    events: EventStore,
    *,
    stop: asyncio.Event,
    batch_size: int,
    report: bool = False,
) -> None:
    """`report`: log each batch (a reconciler process of its own says what it does)."""
    failures = 0
    while not stop.is_set():
        try:
            batch = await events.read_all(after=await reconciler.position(), limit=batch_size)
            await reconciler.process(batch)
            if report and batch:
                await _report(batch[0].position, batch[-1].position, len(batch), events)
            # Caught up: rest until woken (a request waits) or the pause ends, rather than
            # chase a bulk request append by append, one customer write per few items.
            failures, idle = 0, len(batch) < batch_size
        except Exception:
            failures += 1
            log.exception("reconciler.batch_failed", failures=failures)
            idle = True
        if idle and not stop.is_set():
            await reconciler.woken(min(0.1 * 2**failures, 5.0) if failures else IDLE_PAUSE_SECONDS)


async def _report(first: int, last: int, count: int, events: EventStore) -> None:
    head = await events.head_position() or last
    log.info("reconciler.batch", events=count, first=first, position=last, lag=head - last)


@asynccontextmanager
async def reconciling(
    reconciler: OwnershipReconciler, events: EventStore, *, batch_size: int, report: bool = False
) -> AsyncIterator[None]:
    """Run the reconciler in the background for the duration of the block (a service's life)."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        follow(reconciler, events, stop=stop, batch_size=batch_size, report=report)
    )
    try:
        yield
    finally:
        stop.set()
        reconciler.wake()
        await task
