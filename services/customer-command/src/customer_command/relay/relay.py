"""The relay: the only bridge from the event store to the bus.

It reads the global log from its checkpoint, publishes each customer/equipment event as a
CloudEvent (internal streams are skipped), and saves the batch's last position only after the
bus acknowledged every message of the batch. A crash therefore repeats at most the batches
since the last save (at-least-once; consumers dedupe by event id or stream revision) and loses
nothing. Log order is kept per key: a batch is sent in log order, the next only after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence

import structlog

from customerhub_shared.bus import EventPublisher
from customerhub_shared.checkpoints import CheckpointStore
from customerhub_shared.cloudevents import KafkaMessage, Topics, channel_of, to_message
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.tracing import Span, SpanKind, started, traceparent_of

log = structlog.get_logger(__name__)

PROGRESS_EVERY_SECONDS = 10.0


class Relay:
    def __init__(
        self,
        events: EventStore,
        checkpoints: CheckpointStore,
        publisher: EventPublisher,
        *,
        topics: Topics,
        name: str,
        batch_size: int = 500,
    ) -> None:
        self.events = events
        self.checkpoints = checkpoints
        self.publisher = publisher
        self.topics = topics
        self.name = name
        self.batch_size = batch_size
        self.published = 0
        self._progress = _Progress()

    async def position(self) -> int | None:
        """The last log position whose batch the bus acknowledged."""
        return await self.checkpoints.get(self.name)

    async def relay_batch(self, batch: Sequence[RecordedEvent]) -> int:
        """Publish one batch of the log, then checkpoint it; the number of messages sent."""
        if not batch:
            return 0
        # Each event's publish span, in its own trace, lasts until the bus acknowledged it.
        spans: list[Span] = []
        try:
            messages = [
                message for event in batch if (message := self._message(event, spans)) is not None
            ]
            if messages:
                await self.publisher.publish(messages)
        finally:
            for span in spans:
                span.end()
        await self.checkpoints.save(self.name, batch[-1].position)
        self.published += len(messages)
        self._progress.tick(self.published, batch[-1].position)
        return len(messages)

    def _message(self, event: RecordedEvent, spans: list[Span]) -> KafkaMessage | None:
        if channel_of(event.stream) is None:
            return None
        span = started(
            f"relay publish {event.type}",
            json.loads(event.metadata).get("traceparent"),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "customerhub.event_id": str(event.id)},
        )
        spans.append(span)
        return to_message(event, self.topics, traceparent=traceparent_of(span))

    async def catch_up(self, *, until: int | None = None, stop: asyncio.Event | None = None) -> int:
        """Relay the log from the checkpoint up to `until` (default: the head now), or until
        `stop` is set; the number of messages sent."""
        until = until if until is not None else await self.events.head_position()
        sent = 0
        position = await self.position()
        while until is not None and (position is None or position < until):
            if stop is not None and stop.is_set():
                break
            batch = await self.events.read_all(after=position, limit=self.batch_size)
            if not batch:
                break
            sent += await self.relay_batch(batch)
            position = batch[-1].position
        return sent

    async def follow(self, *, stop: asyncio.Event, idle_pause: float = 0.05) -> None:
        """Relay live until `stop` is set (a batch under way is finished first).

        A failing batch (Kafka or the store briefly away) is logged and retried from the
        checkpoint with growing pauses; since the checkpoint did not move, nothing is skipped.
        """
        failures = 0
        while not stop.is_set():
            try:
                caught_up = await self._step()
                failures = 0
            except Exception:
                failures += 1
                log.exception("relay.batch_failed", relay=self.name, failures=failures)
                caught_up = True
            if caught_up:
                pause = idle_pause if failures == 0 else min(0.1 * 2**failures, 5.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _step(self) -> bool:
        """Relay the next batch; True when the log had no full batch left."""
        batch = await self.events.read_all(after=await self.position(), limit=self.batch_size)
        await self.relay_batch(batch)
        return len(batch) < self.batch_size


class _Progress:
    """An info line at most every few seconds while events flow: count, position, rate."""

    def __init__(self) -> None:
        self._since = time.monotonic()
        self._count = 0

    def tick(self, published: int, position: int) -> None:
        now = time.monotonic()
        if now - self._since < PROGRESS_EVERY_SECONDS:
            return
        rate = (published - self._count) / (now - self._since)
        log.info("relay.progress", published=published, position=position, events_per_s=round(rate))
        self._since, self._count = now, published
