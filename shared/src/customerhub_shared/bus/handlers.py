"""What a bus agent hands its deliveries to: plain code, callable without a broker, the same
code the log followers run (so the embedded and the distributed modes share their handlers).

A handler is prepared once (it catches up from the event store what Kafka may no longer hold)
and then called with each delivery; it must be idempotent by stream revision or event id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projection, Projector, checkpoint_name
from customerhub_shared.readstore import Document, Query, ReadStore

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


class ProjectorConsumer:
    """The handler that feeds deliveries to a Projector: the same `Projector.process` the log
    follower calls, so documents stay idempotent by `_version` (stream revision).

    The checkpoint it stores with the documents is not the batch's last position (meaningless
    across partitions) but the delivery's watermark, never lowered: the read model's
    `min_position` freshness keeps its meaning, "every event up to here is applied".

    `prepare()` catches the active generation up from the event store before consuming and
    again after a replay switched generations: it supplies what Kafka may no longer hold
    (retention, a new consumer group, a fresh read store) and what a new generation lacks
    (events applied to the old one after the replay's last pass). Redelivered events are
    skipped by version, and no revision is ever applied on top of a missing one. Only where
    no replay can switch generations (tests) may `events` be None.
    """

    def __init__(
        self,
        projection: Projection,
        store: ReadStore,
        mapper: EventMapper,
        keyring: KeyRing,
        *,
        events: EventStore | None,
        batch_size: int = 500,
    ) -> None:
        self._store = _CheckpointOverride(store)
        self.projector = Projector(projection, self._store, mapper, keyring)
        self._events = events
        self._batch_size = batch_size
        self._checkpoint: int | None = None
        self._prepared = False

    async def prepare(self) -> int:
        """Catch up from the event store (when given); the number of events processed."""
        await self.projector.refresh_generation()
        processed = 0
        if self._events is not None:
            processed = await self.projector.catch_up(self._events, batch_size=self._batch_size)
        self._checkpoint = await self.projector.position()
        self._prepared = True
        log.info(
            "projector_consumer.prepared",
            projection=self.projector.projection.name,
            generation=self.projector.generation,
            caught_up=processed,
            checkpoint=self._checkpoint,
        )
        return processed

    async def __call__(self, delivery: Delivery) -> None:
        if not self._prepared or await self.projector.refresh_generation():
            await self.prepare()
        checkpoint = highest(self._checkpoint, delivery.watermark)
        if delivery.events:
            with self._store.checkpoint_at(checkpoint):
                await self.projector.process(delivery.events)
        elif checkpoint is not None and checkpoint != self._checkpoint:
            await self._store.write(
                self.projector.collection,
                [],
                checkpoint_name=checkpoint_name(
                    self.projector.projection.name, self.projector.generation
                ),
                position=checkpoint,
            )
        self._checkpoint = checkpoint


class _CheckpointOverride(ReadStore):
    """A read store whose `write` stores a checkpoint the consumer chose instead of the
    batch's last position, while `checkpoint_at` is in effect (0 — nothing known to be
    covered — when there is no checkpoint yet); everything else goes straight through."""

    def __init__(self, inner: ReadStore) -> None:
        self._inner = inner
        self._override: tuple[int | None] | None = None

    @contextlib.contextmanager
    def checkpoint_at(self, position: int | None) -> Iterator[None]:
        self._override = (position,)
        try:
            yield
        finally:
            self._override = None

    async def write(
        self,
        collection: str,
        documents: Sequence[Document],
        *,
        checkpoint_name: str,
        position: int,
    ) -> None:
        if self._override is not None:
            position = self._override[0] or 0
        await self._inner.write(
            collection, documents, checkpoint_name=checkpoint_name, position=position
        )

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self._inner.get(collection, doc_id)

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        return await self._inner.get_many(collection, doc_ids)

    async def find(self, collection: str, query: Query) -> list[Document]:
        return await self._inner.find(collection, query)

    async def count(self, collection: str) -> int:
        return await self._inner.count(collection)

    async def checkpoint(self, checkpoint_name: str) -> int | None:
        return await self._inner.checkpoint(checkpoint_name)

    async def drop(self, collection: str) -> None:
        await self._inner.drop(collection)

    async def generations(self, projection: str) -> tuple[int, int | None]:
        return await self._inner.generations(projection)

    async def set_generations(self, projection: str, active: int, building: int | None) -> None:
        await self._inner.set_generations(projection, active, building)

    async def erase_replaced(self) -> None:
        await self._inner.erase_replaced()

    async def close(self) -> None:
        await self._inner.close()


class PreparedHandler(Protocol):
    async def prepare(self) -> int: ...

    async def __call__(self, delivery: Delivery) -> None: ...


class LogConsumer(Protocol):
    """A consumer that follows the log on its own otherwise (notifications): a checkpoint of
    its own, and batches it may see again."""

    name: str

    async def position(self) -> int | None: ...

    async def process(
        self, batch: Sequence[RecordedEvent], *, covered: int | None = None
    ) -> None: ...


class LogConsumerHandler:
    """The handler that feeds deliveries to a LogConsumer, storing the delivery's watermark as
    its checkpoint (never lowered), as ProjectorConsumer does; `prepare()` first catches the
    consumer up from the event store."""

    def __init__(
        self, consumer: LogConsumer, *, events: EventStore | None, batch_size: int = 500
    ) -> None:
        self.consumer = consumer
        self._events = events
        self._batch_size = batch_size
        self._checkpoint: int | None = None
        self._prepared = False

    async def prepare(self) -> int:
        processed = 0
        while self._events is not None:
            after = await self.consumer.position()
            batch = await self._events.read_all(after=after, limit=self._batch_size)
            await self.consumer.process(batch)
            processed += len(batch)
            if len(batch) < self._batch_size:
                break
        self._checkpoint = await self.consumer.position()
        self._prepared = True
        log.info(
            "log_consumer.prepared",
            consumer=self.consumer.name,
            caught_up=processed,
            checkpoint=self._checkpoint,
        )
        return processed

    async def __call__(self, delivery: Delivery) -> None:
        if not self._prepared:
            await self.prepare()
        checkpoint = highest(self._checkpoint, delivery.watermark)
        await self.consumer.process(delivery.events, covered=checkpoint or 0)
        self._checkpoint = checkpoint
