"""Feeds the consumer from the event store's global log (the embedded transport).

Thin on purpose: read the next batch after the consumer's checkpoint, hand it over, repeat.
With CUSTOMERHUB_CONSUMER_TRANSPORT=kafka a consumer-group agent feeds the same consumer
instead (customerhub_shared.bus: LogConsumerHandler), committing its offsets after `process`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

import structlog

from customerhub_shared.eventstore import EventStore, RecordedEvent

log = structlog.get_logger(__name__)


class BatchConsumer(Protocol):
    name: str

    async def position(self) -> int | None: ...

    async def process(
        self, batch: Sequence[RecordedEvent], *, covered: int | None = None
    ) -> None: ...


async def follow_event_log(
    consumer: BatchConsumer, events: EventStore, *, stop: asyncio.Event, batch_size: int = 500
) -> None:
    """Until `stop`: a failing batch is logged and tried again with growing pauses; nothing is
    skipped, since the checkpoint did not move."""
    failures = 0
    while not stop.is_set():
        try:
            batch = await events.read_all(after=await consumer.position(), limit=batch_size)
            await consumer.process(batch)
            failures = 0
            caught_up = len(batch) < batch_size
        except Exception:
            failures += 1
            log.exception("notifications.consume_failed", consumer=consumer.name)
            caught_up = True
        if caught_up:
            pause = 0.05 if failures == 0 else min(0.1 * 2**failures, 5.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
