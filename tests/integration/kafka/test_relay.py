"""The relay's promises on a real event store: log order, internal streams skipped, and a
checkpoint that moves only after the bus acknowledged the whole batch."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customer_command.relay.relay import Relay
from customerhub_shared.bus import EventPublisher, PublishFailed
from customerhub_shared.bus.kafka import KafkaPublisher
from customerhub_shared.checkpoints import CheckpointStore
from customerhub_shared.checkpoints.sqlite import SQLiteCheckpointStore
from customerhub_shared.cloudevents import KafkaMessage, Topics
from customerhub_shared.events import EventMetadata, default_registry
from customerhub_shared.events.customer import CustomerLabelAdded, CustomerNameReserved
from customerhub_shared.eventstore import EventStore
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.mapper import EventMapper
from tests.integration.kafka.topics import read_topic

MAPPER = EventMapper(default_registry())
METADATA = EventMetadata(actor="tester", correlation_id="relay-test", occurred_at=datetime.now(UTC))


class RecordingPublisher(EventPublisher):
    """Keeps what it was given; the calls listed in `failing` fail as a broker away would."""

    def __init__(self, failing: Sequence[int] = ()) -> None:
        self.failing = set(failing)
        self.calls = 0
        self.batches: list[list[KafkaMessage]] = []

    async def publish(self, messages: Sequence[KafkaMessage]) -> None:
        self.calls += 1
        if self.calls in self.failing:
            raise PublishFailed("the broker is away")
        self.batches.append(list(messages))

    @property
    def messages(self) -> list[KafkaMessage]:
        return [message for batch in self.batches for message in batch]

    async def close(self) -> None:
        pass


class CrashingCheckpoints(CheckpointStore):
    """Dies on its n-th save, as a relay killed between Kafka's ack and its checkpoint."""

    def __init__(self, inner: CheckpointStore, *, crash_on: int) -> None:
        self.inner = inner
        self.crash_on = crash_on
        self.saves = 0

    async def get(self, name: str) -> int | None:
        return await self.inner.get(name)

    async def save(self, name: str, position: int) -> None:
        self.saves += 1
        if self.saves == self.crash_on:
            raise SystemExit("killed before the checkpoint")
        await self.inner.save(name, position)

    async def close(self) -> None:
        pass


@pytest.fixture
async def events(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    store = await SQLiteEventStore.open(tmp_path / "events.db", poll_interval=0.02)
    yield store
    await store.close()


@pytest.fixture
async def checkpoints(tmp_path: Path) -> AsyncIterator[SQLiteCheckpointStore]:
    store = SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    yield store
    await store.close()


async def add_labels(events: EventStore, customer_id: uuid.UUID, count: int) -> None:
    stream = f"customer-{customer_id}"
    version = await events.stream_version(stream)
    new = [
        MAPPER.to_new_event(
            CustomerLabelAdded(customer_id=customer_id, label=f"l{version + n}"), METADATA, key=None
        )
        for n in range(count)
    ]
    await events.append(stream, new, expected_version=version)


async def reserve_name(events: EventStore) -> None:
    reserved = CustomerNameReserved(customer_id=uuid.uuid4())
    await events.append(
        f"customer_name-{uuid.uuid4()}",
        [MAPPER.to_new_event(reserved, METADATA, key=None)],
        expected_version=0,
    )


def relay(
    events: EventStore, checkpoints: SQLiteCheckpointStore, publisher: EventPublisher
) -> Relay:
    return Relay(events, checkpoints, publisher, topics=Topics(), name="relay-test", batch_size=4)


def revisions(messages: Sequence[KafkaMessage]) -> dict[bytes, list[int]]:
    seen: dict[bytes, list[int]] = {}
    for message in messages:
        seen.setdefault(message.key, []).append(int(json.loads(message.value)["sequence"]))
    return seen


async def test_every_customer_event_is_published_in_log_order_and_internal_ones_skipped(
    events: SQLiteEventStore, checkpoints: SQLiteCheckpointStore
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    await add_labels(events, first, 3)
    await reserve_name(events)
    await add_labels(events, second, 2)
    await add_labels(events, first, 4)
    publisher = RecordingPublisher()

    assert await relay(events, checkpoints, publisher).catch_up() == 9

    log = [e for e in await events.read_all() if e.stream.startswith("customer-")]
    assert [json.loads(m.value)["id"] for m in publisher.messages] == [str(e.id) for e in log]
    assert revisions(publisher.messages) == {
        str(first).encode(): list(range(7)),
        str(second).encode(): [0, 1],
    }
    assert await checkpoints.get("relay-test") == await events.head_position()


async def test_a_failed_batch_leaves_the_checkpoint_where_it_was(
    events: SQLiteEventStore, checkpoints: SQLiteCheckpointStore
) -> None:
    customer = uuid.uuid4()
    await add_labels(events, customer, 10)
    failing = RecordingPublisher(failing=[2])  # the second batch of four is refused

    with pytest.raises(PublishFailed):
        await relay(events, checkpoints, failing).catch_up()
    log = await events.read_all()
    assert await checkpoints.get("relay-test") == log[3].position

    again = RecordingPublisher()
    assert await relay(events, checkpoints, again).catch_up() == 6
    assert revisions(again.messages) == {str(customer).encode(): list(range(4, 10))}


async def test_following_relays_new_events_and_retries_a_failed_batch(
    events: SQLiteEventStore, checkpoints: SQLiteCheckpointStore
) -> None:
    customer = uuid.uuid4()
    publisher = RecordingPublisher(failing=[1])
    follower = relay(events, checkpoints, publisher)
    stop = asyncio.Event()
    task = asyncio.create_task(follower.follow(stop=stop, idle_pause=0.01))
    try:
        await add_labels(events, customer, 3)
        await asyncio.sleep(0.05)
        await add_labels(events, customer, 6)

        async def caught_up() -> bool:
            return await checkpoints.get("relay-test") == await events.head_position()

        deadline = asyncio.get_running_loop().time() + 10
        while not await caught_up():
            assert asyncio.get_running_loop().time() < deadline, "the relay never caught up"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert publisher.calls >= 3
    assert revisions(publisher.messages) == {str(customer).encode(): list(range(9))}


async def test_a_log_of_internal_events_only_moves_the_checkpoint(
    events: SQLiteEventStore, checkpoints: SQLiteCheckpointStore
) -> None:
    for _ in range(3):
        await reserve_name(events)
    publisher = RecordingPublisher()
    assert await relay(events, checkpoints, publisher).catch_up() == 0
    assert publisher.calls == 0
    assert await checkpoints.get("relay-test") == await events.head_position()


@pytest.mark.kafka
async def test_a_crash_between_kafkas_ack_and_the_checkpoint_repeats_that_batch_only(
    events: SQLiteEventStore,
    checkpoints: SQLiteCheckpointStore,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    customer = uuid.uuid4()
    await add_labels(events, customer, 10)
    publisher = await KafkaPublisher.open(kafka_bootstrap)
    try:
        crashing = CrashingCheckpoints(checkpoints, crash_on=2)
        with pytest.raises(SystemExit):
            await Relay(
                events, crashing, publisher, topics=kafka_topics, name="relay-test", batch_size=4
            ).catch_up()
        restarted = Relay(
            events, checkpoints, publisher, topics=kafka_topics, name="relay-test", batch_size=4
        )
        assert await restarted.catch_up() == 6
    finally:
        await publisher.close()

    records = await read_topic(kafka_bootstrap, kafka_topics.customer)
    sequences = [int(json.loads(record.value)["sequence"]) for record in records]
    # The second batch (revisions 4-7) reached Kafka twice: at-least-once, never a gap.
    assert sequences == [0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9]
    applied: list[int] = []
    for sequence in sequences:  # what an idempotent consumer keeps
        if sequence == len(applied):
            applied.append(sequence)
    assert applied == list(range(10))
