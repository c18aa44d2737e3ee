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
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from customerhub_shared.bus.handlers import Delivery, DeliveryHandler, highest
from customerhub_shared.cloudevents import InvalidCloudEvent, from_message, is_cloudevent
from customerhub_shared.consumers.backoff import backoff
from customerhub_shared.consumers.runner import ProgressLog
from customerhub_shared.eventstore import RecordedEvent

log = structlog.get_logger(__name__)

Partition = Hashable  # aiokafka's TopicPartition (a (topic, partition) named tuple)
# The relay's checkpoint: every event at or below it is acknowledged by Kafka.
RelayedPosition = Callable[[], Awaitable[int | None]]


class ConsumeFailed(Exception):
    """The agent could not join its consumer group (Kafka unreachable, bad settings)."""


class ConsumerNotConfigured(RuntimeError):
    """A consumer was started without a Kafka to consume from (KAFKA_BOOTSTRAP_SERVERS)."""


class LogWatermark:
    """How far the log is covered, from what was applied per partition and which partitions
    still hold messages not handed over (the broker's high-water mark is ahead).

    A partition's messages arrive in log order, so a partition that lags is covered up to the
    last position applied from it; one that is drained is covered entirely, since whatever
    reaches it later was appended to the log later. Hence the watermark is the lowest last
    position among the lagging partitions, or the highest applied anywhere when none lags.
    It never moves back: what was applied stays applied.

    But the relay sends a batch to several partitions at once, so a later event can become
    visible in one partition an instant before an earlier one in another: a drained reading
    taken in that instant would run ahead. The relay's checkpoint closes that window: every
    event at or below it was acknowledged by Kafka, so when it is read before the partitions'
    end offsets, drained partitions cover the log up to it, and no further. Without it (no
    `relayed` given) the watermark may run ahead by one in-flight batch.
    """

    def __init__(self) -> None:
        self._applied: dict[Partition, int] = {}
        self._reached: int | None = None

    @property
    def reached(self) -> int | None:
        return self._reached

    def peek(
        self,
        batch: Mapping[Partition, int],
        *,
        lagging: Collection[Partition] | None,
        relayed: int | None = None,
    ) -> int | None:
        """The watermark once `batch` (partition -> highest position in it) is applied.

        `lagging`: the partitions with messages beyond what was polled; None when that is not
        known (the agent holds only some of the topics' partitions, or has no fetch answer
        for one yet). `relayed`: the relay's checkpoint, read before the end offsets that
        `lagging` was judged by.
        """
        applied = _merged(self._applied, batch)
        candidate: int | None = None
        if lagging is not None and all(partition in applied for partition in lagging):
            if lagging:
                candidate = min(applied[partition] for partition in lagging)
            else:
                candidate = max(applied.values(), default=None)
            if relayed is not None:
                candidate = relayed if candidate is None or not lagging else min(candidate, relayed)
        return highest(self._reached, candidate)

    def advance(
        self,
        batch: Mapping[Partition, int],
        *,
        lagging: Collection[Partition] | None,
        relayed: int | None = None,
    ) -> int | None:
        """Record `batch` as applied; the new watermark."""
        self._reached = self.peek(batch, lagging=lagging, relayed=relayed)
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
        poll_timeout: float = 0.05,
        relayed: RelayedPosition | None = None,
        on_idle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._consumer = consumer
        self._on_idle = on_idle
        self._relayed = relayed
        self._handler = handler
        self.name = name
        self.topics = tuple(topics)
        self._batch_size = batch_size
        self._poll_timeout_ms = int(poll_timeout * 1000)
        self._watermark = LogWatermark()
        self._busy = asyncio.Lock()
        self.delivered = 0
        self._progress = ProgressLog(name)

    @classmethod
    async def open(
        cls,
        bootstrap_servers: str,
        *,
        topics: Sequence[str],
        group_id: str,
        handler: DeliveryHandler,
        batch_size: int = 500,
        relayed: RelayedPosition | None = None,
        on_idle: Callable[[], Awaitable[None]] | None = None,
    ) -> KafkaAgent:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=group_id,
            enable_auto_commit=False,
            # The broker answers an idle fetch when data arrives or after this wait; measured on
            # a local KRaft broker, new events waited out the default 500 ms every time.
            fetch_max_wait_ms=50,
            # A new group reads each topic from its beginning: the first events matter.
            auto_offset_reset="earliest",
        )
        agent = cls(
            consumer,
            handler,
            name=group_id,
            topics=topics,
            batch_size=batch_size,
            relayed=relayed,
            on_idle=on_idle,
        )
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
            if records:
                async with self._busy:
                    if not await self._deliver(records, stop):
                        break
            await self._claim_relayed()
            if self._on_idle is not None:
                await self._on_idle()

    async def _claim_relayed(self) -> None:
        """The relay saves its checkpoint after Kafka acknowledged, so a delivery is often read
        before the relay claimed it: once it has, hand over an empty delivery with the
        watermark that now holds, for the handler to store (a read waiting for `min_position`
        would otherwise wait for the next delivery, or forever when none follows)."""
        if self._relayed is None:
            return
        relayed = await self._relayed()
        reached = self._watermark.reached
        if relayed is None or (reached is not None and relayed <= reached):
            return
        async with self._busy:
            lagging = await self._lagging(fresh=True)
            watermark = self._watermark.peek({}, lagging=lagging, relayed=relayed)
            if watermark == reached:
                return
            try:
                await self._handler(Delivery([], watermark))
            except Exception:
                log.exception("kafka_agent.handler_failed", agent=self.name, idle=True)
                return
            self._watermark.advance({}, lagging=lagging, relayed=relayed)

    async def _deliver(self, records: Mapping[Any, Sequence[Any]], stop: asyncio.Event) -> bool:
        """Hand one polled batch over and commit it; False if stopped before the handler
        succeeded (the batch stays uncommitted, to be delivered again)."""
        events, highest = decode(records)
        relayed = await self._relayed() if self._relayed is not None else None
        lagging = await self._lagging(fresh=self._relayed is not None)
        delivery = Delivery(events, self._watermark.peek(highest, lagging=lagging, relayed=relayed))
        failures = 0
        while True:
            try:
                await self._handler(delivery)
                break
            except Exception:
                failures += 1
                log.exception("kafka_agent.handler_failed", agent=self.name, failures=failures)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff(failures))
                if stop.is_set():
                    return False
        self._watermark.advance(highest, lagging=lagging, relayed=relayed)
        self.delivered += len(events)
        await self._commit(records)
        self._progress.tick(self.delivered, self._watermark.reached)
        return True

    async def _lagging(self, *, fresh: bool) -> list[Any] | None:
        """The assigned partitions that hold messages beyond the ones polled; None unless this
        member holds every partition of its topics and knows each one's end. `fresh`: ask the
        broker for the end offsets now, rather than take the last fetch's high-water marks."""
        assigned = set(self._consumer.assignment())
        for topic in self.topics:
            partitions = self._consumer.partitions_for_topic(topic) or set()
            if not partitions or any((topic, p) not in assigned for p in partitions):
                return None
        if fresh:
            ends = await self._consumer.end_offsets(list(assigned))
        else:
            ends = {partition: self._consumer.highwater(partition) for partition in assigned}
        lagging = []
        for partition in assigned:
            if ends.get(partition) is None:
                return None
            if await self._consumer.position(partition) < ends[partition]:
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


def _names(partitions: Collection[Any]) -> list[str]:
    return sorted(f"{partition.topic}/{partition.partition}" for partition in partitions)
