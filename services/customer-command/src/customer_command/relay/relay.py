"""The relay: the only bridge from the event store to the bus.

It reads the global log from its checkpoint, publishes each customer/equipment event as a
CloudEvent (internal streams are skipped), and saves the batch's last position only after the
bus acknowledged every message of the batch. A crash therefore repeats at most the batches
since the last save (at-least-once; consumers dedupe by event id or stream revision) and loses
nothing. Log order is kept per key: a batch is sent in log order, the next only after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from customerhub_shared.bus import EventPublisher
from customerhub_shared.checkpoints import CheckpointStore
from customerhub_shared.cloudevents import KafkaMessage, Topics, channel_of, to_message
from customerhub_shared.consumers import Runner
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.tracing import Span, SpanKind, started, traceparent_of


class Relay:
    """The relay as a consumer of the runtime (`customerhub_shared.consumers`): it parks
    nothing, since an event it cannot publish is a bus away, not a poison event."""

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
        self.runner = Runner(self, events=events, batch_size=batch_size)

    async def position(self) -> int | None:
        """The last log position whose batch the bus acknowledged."""
        return await self.checkpoints.get(self.name)

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        await self.relay_batch(batch)

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
        before = self.published
        await self.runner.catch_up(until=until, stop=stop)
        return self.published - before

    async def follow(self, *, stop: asyncio.Event, idle_pause: float = 0.05) -> None:
        """Relay live until `stop` is set (a batch under way is finished first); a failing
        batch is retried from the checkpoint with growing pauses, nothing skipped."""
        self.runner.idle_pause = idle_pause
        await self.runner.follow(stop=stop)
