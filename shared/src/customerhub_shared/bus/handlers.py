"""What a bus agent hands its deliveries to: plain code, callable without a broker, the same
code the log followers run (so the embedded and the distributed modes share their handlers).

A handler is prepared once (it catches up from the event store what Kafka may no longer hold)
and then called with each delivery; it must be idempotent by stream revision or event id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from customerhub_shared.consumers import Consumer, ParkedStore, Refreshing, Runner
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projection, Projector
from customerhub_shared.readstore import ReadStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One batch off the bus.

    `events`: in log-position order (each partition's order kept; a redelivered event sits
    next to its first delivery). `watermark`: every event of the agent's topics at or below
    this log position has been handed to the handler once this batch is; None while unknown.
    """

    events: Sequence[RecordedEvent]
    watermark: int | None = None


DeliveryHandler = Callable[[Delivery], Awaitable[None]]


def highest(*positions: int | None) -> int | None:
    return max((position for position in positions if position is not None), default=None)


class ConsumerFeed:
    """The handler that feeds deliveries to a runtime consumer (`consumers.Runner.handle`,
    the same path the log follower takes: attempts, parking, progress).

    The position it stores is not the batch's last position (meaningless across partitions)
    but the delivery's watermark, never lowered: a read model's `min_position` freshness
    keeps its meaning, "every event up to here is applied".

    `prepare()` catches the consumer up from the event store before consuming, and again
    after a replay switched a projector's generation: it supplies what Kafka may no longer
    hold (retention, a new consumer group, a fresh read store) and what a new generation
    lacks. Redelivered events are skipped by stream revision or event id. Only where no
    replay can switch generations (tests) may the runner have no event store.
    """

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._checkpoint: int | None = None
        self._prepared = False

    async def prepare(self) -> int:
        """Catch up from the event store (when there is one); the number of events processed."""
        consumer = self.runner.consumer
        if isinstance(consumer, Refreshing):
            await consumer.refresh_generation()
        processed = await self.runner.catch_up() if self.runner.events is not None else 0
        self._checkpoint = await self.runner.position()
        self._prepared = True
        log.info(
            "consumer_feed.prepared",
            consumer=self.runner.name,
            caught_up=processed,
            checkpoint=self._checkpoint,
        )
        return processed

    async def idle(self) -> None:
        if not self._prepared:
            return
        try:
            await self.runner.apply_marked()
        except Exception:  # the parked store briefly away: the marks wait for the next turn
            log.exception("consumer_feed.marks_failed", consumer=self.runner.name)

    async def _stale(self) -> bool:
        consumer = self.runner.consumer
        return isinstance(consumer, Refreshing) and await consumer.refresh_generation()

    async def __call__(self, delivery: Delivery) -> None:
        if not self._prepared or await self._stale():
            await self.prepare()
        await self.runner.apply_marked()
        checkpoint = highest(self._checkpoint, delivery.watermark)
        if delivery.events:
            await self.runner.handle(delivery.events, covered=checkpoint or 0)
        elif checkpoint is not None and checkpoint != self._checkpoint:
            await self.runner.consumer.process([], covered=checkpoint)
        self._checkpoint = checkpoint


class PreparedHandler(Protocol):
    async def prepare(self) -> int: ...

    async def idle(self) -> None:
        """Between polls: apply what an operator marked among the parked events."""

    async def __call__(self, delivery: Delivery) -> None: ...


# A consumer that follows the log on its own otherwise (notifications).
LogConsumer = Consumer


class LogConsumerHandler(ConsumerFeed):
    """A feed for any runtime consumer."""

    def __init__(
        self,
        consumer: Consumer,
        *,
        events: EventStore | None,
        batch_size: int = 500,
        parked: ParkedStore | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.consumer = consumer
        super().__init__(
            Runner(
                consumer,
                events=events,
                batch_size=batch_size,
                parked=parked,
                max_attempts=max_attempts,
            )
        )


class ProjectorConsumer(LogConsumerHandler):
    """A feed for a projector over `store`."""

    def __init__(
        self,
        projection: Projection,
        store: ReadStore,
        mapper: EventMapper,
        keyring: KeyRing,
        *,
        events: EventStore | None,
        batch_size: int = 500,
        parked: ParkedStore | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.projector = Projector(projection, store, mapper, keyring)
        super().__init__(
            self.projector,
            events=events,
            batch_size=batch_size,
            parked=parked,
            max_attempts=max_attempts,
        )
