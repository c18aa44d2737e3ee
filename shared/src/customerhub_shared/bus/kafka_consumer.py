"""The bus's consuming side: Kafka consumer-group agents, and the projector as one of them.

An agent stays thin: it polls a batch, decodes the CloudEvents back into RecordedEvents,
awaits a handler (plain code, callable without a broker), and only then commits the batch's
offsets. A crash or a rebalance therefore redelivers at most the batches not yet committed,
and handlers are idempotent by event id or stream revision. A failing handler is retried with
growing pauses and nothing after it is handed over, so one customer's events are never
applied out of order (a read model would otherwise apply revision n+1 without n).

Kafka offsets are the agent's own checkpoint. What a handler may want besides is the log
position it has covered (a projector's `min_position` freshness), but positions arrive out of
global order across partitions; `Delivery.watermark` is the position below which every
event of the consumed partitions has been handed over, as far as the broker shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from customerhub_shared.cloudevents import InvalidCloudEvent, from_message, is_cloudevent
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projection, Projector
from customerhub_shared.readstore import Document, Query, ReadStore

log = structlog.get_logger(__name__)

Partition = Hashable  # aiokafka's TopicPartition (a (topic, partition) named tuple)


class ConsumeFailed(Exception):
    """The agent could not join its consumer group (Kafka unreachable, bad settings)."""


class ConsumerNotConfigured(RuntimeError):
    """A consumer was started without a Kafka to consume from (KAFKA_BOOTSTRAP_SERVERS)."""


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


class LogWatermark:
    """How far the log is covered, from what was applied per partition and which partitions
    still hold messages not handed over (the broker's high-water mark is ahead).

    A partition's messages arrive in log order, so a partition that lags is covered up to the
    last position applied from it; one that is drained is covered entirely, since whatever
    reaches it later was appended to the log later. Hence the watermark is the lowest last
    position among the lagging partitions, or the highest applied anywhere when none lags.
    It never moves back: what was applied stays applied.

    One window remains: the relay sends a batch to several partitions at once, so a later
    event can become visible in one partition an instant before an earlier one in another;
    a drained reading taken in that instant runs ahead by that in-flight batch until the
    next delivery applies it (closing it needs a transactional relay and read_committed).
    """

    def __init__(self) -> None:
        self._applied: dict[Partition, int] = {}
        self._reached: int | None = None

    @property
    def reached(self) -> int | None:
        return self._reached

    def peek(
        self, batch: Mapping[Partition, int], *, lagging: Collection[Partition] | None
    ) -> int | None:
        """The watermark once `batch` (partition -> highest position in it) is applied.

        `lagging`: the partitions with messages beyond what was polled; None when that is not
        known (the agent holds only some of the topics' partitions, or has no fetch answer
        for one yet).
        """
        applied = _merged(self._applied, batch)
        candidate: int | None = None
        if lagging is not None and all(partition in applied for partition in lagging):
            if lagging:
                candidate = min(applied[partition] for partition in lagging)
            else:
                candidate = max(applied.values(), default=None)
        return _highest(self._reached, candidate)

    def advance(
        self, batch: Mapping[Partition, int], *, lagging: Collection[Partition] | None
    ) -> int | None:
        """Record `batch` as applied; the new watermark."""
        self._reached = self.peek(batch, lagging=lagging)
        self._applied = _merged(self._applied, batch)
        return self._reached

    def forget(self, partitions: Collection[Partition]) -> None:
        """Partitions another member may take over: their next messages are not ours to see."""
        for partition in partitions:
            self._applied.pop(partition, None)


def _merged(
    applied: Mapping[Partition, int], batch: Mapping[Partition, int]
) -> dict[Partition, int]:
    merged = dict(applied)
    for partition, position in batch.items():
        merged[partition] = max(position, merged.get(partition, position))
    return merged


def _highest(*positions: int | None) -> int | None:
    return max((position for position in positions if position is not None), default=None)


def decode(records: Mapping[Any, Sequence[Any]]) -> tuple[list[RecordedEvent], dict[Any, int]]:
    """The events of a polled batch in log-position order, and each partition's highest
    position. A record that is not one of our CloudEvents is logged and skipped: it can never
    become one, and its offset is committed with the batch."""
    events: list[RecordedEvent] = []
    highest: dict[Any, int] = {}
    for partition, batch in records.items():
        for record in batch:
            try:
                if not is_cloudevent(record.headers):
                    raise InvalidCloudEvent("content-type is not application/cloudevents+json")
                event = from_message(record.value)
            except InvalidCloudEvent as error:
                log.error(
                    "kafka_agent.record_skipped",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    reason=str(error)[:200],
                )
                continue
            events.append(event)
            highest[partition] = max(event.position, highest.get(partition, event.position))
    events.sort(key=lambda event: event.position)  # stable: equal positions keep their order
    return events, highest


class KafkaAgent:
    """One member of a consumer group: poll, decode, call the handler, commit; repeat.

    aiokafka with `enable_auto_commit=False`: offsets are committed explicitly, right after
    the handler returned. A rebalance waits for the batch in hand to be committed before the
    partitions are given up, so a planned rebalance redelivers nothing.
    """

    def __init__(
        self,
        consumer: Any,
        handler: DeliveryHandler,
        *,
        name: str,
        topics: Sequence[str],
        batch_size: int = 500,
        poll_timeout: float = 0.2,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self.name = name
        self.topics = tuple(topics)
        self._batch_size = batch_size
        self._poll_timeout_ms = int(poll_timeout * 1000)
        self._watermark = LogWatermark()
        self._busy = asyncio.Lock()
        self.delivered = 0
        self._progress = _Progress()

    @classmethod
    async def open(
        cls,
        bootstrap_servers: str,
        *,
        topics: Sequence[str],
        group_id: str,
        handler: DeliveryHandler,
        batch_size: int = 500,
    ) -> KafkaAgent:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            enable_auto_commit=False,
            # A new group reads each topic from its beginning: the first events matter.
            auto_offset_reset="earliest",
        )
        agent = cls(consumer, handler, name=group_id, topics=topics, batch_size=batch_size)
        consumer.subscribe(list(topics), listener=_Rebalance(agent))
        try:
            await consumer.start()
        except KafkaError as error:
            await consumer.stop()
            raise ConsumeFailed(f"cannot reach Kafka at {bootstrap_servers}: {error!r}") from error
        return agent

    @property
    def watermark(self) -> int | None:
        return self._watermark.reached

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; a batch in hand is finished (or left uncommitted)."""
        log.info("kafka_agent.started", agent=self.name, topics=list(self.topics))
        while not stop.is_set():
            records = await self._consumer.getmany(
                timeout_ms=self._poll_timeout_ms, max_records=self._batch_size
            )
            if not records:
                continue
            async with self._busy:
                if not await self._deliver(records, stop):
                    break

    async def _deliver(self, records: Mapping[Any, Sequence[Any]], stop: asyncio.Event) -> bool:
        """Hand one polled batch over and commit it; False if stopped before the handler
        succeeded (the batch stays uncommitted, to be delivered again)."""
        events, highest = decode(records)
        lagging = await self._lagging()
        delivery = Delivery(events, self._watermark.peek(highest, lagging=lagging))
        failures = 0
        while True:
            try:
                await self._handler(delivery)
                break
            except Exception:
                failures += 1
                log.exception("kafka_agent.handler_failed", agent=self.name, failures=failures)
                pause = min(0.1 * 2**failures, 5.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
                if stop.is_set():
                    return False
        self._watermark.advance(highest, lagging=lagging)
        self.delivered += len(events)
        await self._commit(records)
        self._progress.tick(self.name, self.delivered, self._watermark.reached)
        return True

    async def _lagging(self) -> list[Any] | None:
        """The assigned partitions that hold messages beyond the ones polled; None unless this
        member holds every partition of its topics and knows each one's high-water mark."""
        assigned = set(self._consumer.assignment())
        for topic in self.topics:
            partitions = self._consumer.partitions_for_topic(topic) or set()
            if not partitions or any((topic, p) not in assigned for p in partitions):
                return None
        lagging = []
        for partition in assigned:
            highwater = self._consumer.highwater(partition)
            if highwater is None:
                return None
            if await self._consumer.position(partition) < highwater:
                lagging.append(partition)
        return lagging

    async def _commit(self, records: Mapping[Any, Sequence[Any]]) -> None:
        offsets = {partition: batch[-1].offset + 1 for partition, batch in records.items() if batch}
        try:
            await self._consumer.commit(offsets)
        except KafkaError as error:
            # The group moved on (or Kafka is briefly away): whoever consumes these partitions
            # next gets the batch again, and the handler's idempotence absorbs it.
            log.warning("kafka_agent.commit_failed", agent=self.name, error=repr(error))

    async def close(self) -> None:
        await self._consumer.stop()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, agent: KafkaAgent) -> None:
        self._agent = agent

    async def on_partitions_revoked(self, revoked: Collection[Any]) -> None:
        # Wait for the batch in hand: it is committed before another member takes over.
        async with self._agent._busy:
            self._agent._watermark.forget(revoked)
        if revoked:
            log.info("kafka_agent.revoked", agent=self._agent.name, partitions=_names(revoked))

    async def on_partitions_assigned(self, assigned: Collection[Any]) -> None:
        log.info("kafka_agent.assigned", agent=self._agent.name, partitions=_names(assigned))


class _Progress:
    """An info line at most every few seconds while events flow: count, watermark, rate."""

    EVERY_SECONDS = 10.0

    def __init__(self) -> None:
        self._since = time.monotonic()
        self._count = 0

    def tick(self, agent: str, delivered: int, watermark: int | None) -> None:
        now = time.monotonic()
        if now - self._since < self.EVERY_SECONDS:
            return
        rate = (delivered - self._count) / (now - self._since)
        log.info(
            "kafka_agent.progress",
            agent=agent,
            delivered=delivered,
            watermark=watermark,
            events_per_s=round(rate),
        )
        self._since, self._count = now, delivered


def _names(partitions: Collection[Any]) -> list[str]:
    return sorted(f"{partition.topic}/{partition.partition}" for partition in partitions)


# -- the projector as a consumer ---------------------------------------------------------------


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
        checkpoint = _highest(self._checkpoint, delivery.watermark)
        with self._store.checkpoint_at(checkpoint):
            await self.projector.process(delivery.events)
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

    async def close(self) -> None:
        await self._inner.close()
