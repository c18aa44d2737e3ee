"""The Kafka consumer's plain code, called directly without a broker (as a faust-style agent's
handler would be): the watermark over partitions, decoding, and the projector handler on a
real SQLite read store and event store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewCustomer
from customer_query.domain.view import CustomerView
from customerhub_shared.bus.handlers import Delivery, LogConsumerHandler, ProjectorConsumer
from customerhub_shared.bus.kafka_consumer import LogWatermark, decode
from customerhub_shared.cloudevents import to_message
from customerhub_shared.events import default_registry
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure, open_read_store
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector, checkpoint_name, collection_name
from customerhub_shared.readstore import Query, ReadStore
from customerhub_shared.replay import replay
from customerhub_shared.settings import Settings

P0, P1, P2 = ("topic", 0), ("topic", 1), ("topic", 2)


# -- the watermark ---------------------------------------------------------------------------


def test_a_lagging_partition_holds_the_watermark_at_its_last_applied_position() -> None:
    watermark = LogWatermark()
    assert watermark.advance({P0: 10, P1: 40}, lagging=[P0, P1]) == 10
    # P0 drained, P1 still lagging at 40, P2 lagging at 25.
    assert watermark.advance({P0: 12, P2: 25}, lagging=[P1, P2]) == 25


def test_when_every_partition_is_drained_everything_applied_is_covered() -> None:
    watermark = LogWatermark()
    assert watermark.advance({P0: 10, P1: 40}, lagging=[]) == 40


def test_a_lagging_partition_never_applied_here_leaves_the_watermark_unknown() -> None:
    watermark = LogWatermark()
    assert watermark.advance({P0: 10}, lagging=[P1]) is None
    assert watermark.advance({P0: 11}, lagging=None) is None


def test_the_watermark_never_moves_back() -> None:
    watermark = LogWatermark()
    assert watermark.advance({P0: 50, P1: 60}, lagging=[]) == 60
    # New messages reached P1 after it was drained: they lie beyond 60 in the log.
    assert watermark.advance({P0: 55}, lagging=[P1]) == 60
    assert watermark.peek({P1: 61}, lagging=[]) == 61
    assert watermark.reached == 60, "peek applies nothing"


def test_the_relays_checkpoint_bounds_what_drained_partitions_cover() -> None:
    watermark = LogWatermark()
    # P1 showed event 40 before P0 showed 30 of the same relay batch: P0 looks drained at 10,
    # but the relay has only checkpointed 20, so nothing past 20 is known to be in Kafka.
    assert watermark.advance({P0: 10, P1: 40}, lagging=[], relayed=20) == 20
    # The relay checkpointed 50 (events 41..50 belong to streams no partition here carries).
    assert watermark.advance({P0: 30}, lagging=[], relayed=50) == 50


def test_a_lagging_partition_and_the_relays_checkpoint_bound_each_other() -> None:
    watermark = LogWatermark()
    assert watermark.advance({P0: 10, P1: 40}, lagging=[P1], relayed=30) == 30
    assert watermark.advance({P0: 12, P1: 45}, lagging=[P1], relayed=60) == 45


def test_revoked_partitions_are_forgotten() -> None:
    watermark = LogWatermark()
    watermark.advance({P0: 10, P1: 20}, lagging=[P0, P1])
    watermark.forget([P1])
    assert watermark.peek({}, lagging=[P1]) == 10, "unknown again, so no higher than before"


# -- decoding --------------------------------------------------------------------------------


@dataclass
class Record:
    """What aiokafka's ConsumerRecord carries that the agent reads."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def test_decoding_orders_by_position_and_skips_what_is_not_our_cloudevent(
    recorded: list[RecordedEvent],
) -> None:
    first, second, third = recorded[:3]

    def record(event: RecordedEvent, partition: int, offset: int) -> Record:
        message = to_message(event)
        assert message is not None
        return Record("topic", partition, offset, message.value, message.headers)

    foreign = Record("topic", 1, 7, b'{"hello": "world"}', (("content-type", b"text/plain"),))
    records = {P0: [record(first, 0, 0), record(third, 0, 1)], P1: [foreign, record(second, 1, 8)]}
    events, highest = decode(records)
    assert [event.id for event in events] == [first.id, second.id, third.id]
    assert highest == {P0: third.position, P1: second.position}


# -- the projector handler -------------------------------------------------------------------


@pytest.fixture
async def infra(tmp_path: Path) -> AsyncIterator[Infrastructure]:
    opened = await open_infrastructure(
        Settings(data_dir=tmp_path, jwt_secret="handler-test-0123456789abcdef0123456789")
    )
    yield opened
    await opened.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ReadStore]:
    opened = await open_read_store(Settings(data_dir=tmp_path))
    yield opened
    await opened.close()


@pytest.fixture
async def recorded(infra: Infrastructure, tmp_path: Path) -> list[RecordedEvent]:
    """Three customers with two events each, in the log (and reservation streams between)."""
    service = customer_command.build_command_service(infra, Settings(data_dir=tmp_path))
    ctx = CommandContext(actor="tester", correlation_id="handler-test")
    for n in range(3):
        customer_id = uuid.uuid4()
        details = NewCustomer.model_validate(
            {"name": f"Client Direct {n}", "main_location": {"city": "Metz"}}
        )
        await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
        await handle(c.AddLabel(customer_id, "direct"), ctx, service.ports)
    log = await infra.event_store.read_all(limit=1000)
    return [event for event in log if event.stream.startswith("customer-")]


def consumer(infra: Infrastructure, store: ReadStore, *, events: bool) -> ProjectorConsumer:
    return ProjectorConsumer(
        CustomerView(),
        store,
        EventMapper(default_registry()),
        infra.keyring,
        events=infra.event_store if events else None,
    )


async def checkpoint(store: ReadStore, generation: int = 1) -> int | None:
    return await store.checkpoint(checkpoint_name("customers", generation))


async def test_the_stored_checkpoint_is_the_watermark_and_never_goes_back(
    infra: Infrastructure, store: ReadStore, recorded: list[RecordedEvent]
) -> None:
    handler = consumer(infra, store, events=False)
    await handler(Delivery(recorded[:2], watermark=None))
    assert await checkpoint(store) == 0, "nothing known to be covered yet"
    await handler(Delivery(recorded[2:4], watermark=recorded[3].position))
    assert await checkpoint(store) == recorded[3].position
    await handler(Delivery(recorded[4:], watermark=recorded[1].position))
    assert await checkpoint(store) == recorded[3].position


async def test_a_redelivered_batch_changes_no_document(
    infra: Infrastructure, store: ReadStore, recorded: list[RecordedEvent]
) -> None:
    handler = consumer(infra, store, events=False)
    await handler(Delivery(recorded, watermark=recorded[-1].position))
    collection = collection_name("customers", 1)
    ids = [event.stream.removeprefix("customer-") for event in recorded]
    before = await store.get_many(collection, ids)
    await handler(Delivery(recorded[1:], watermark=recorded[-1].position))
    await handler(Delivery(recorded[3:4], watermark=None))
    assert await store.get_many(collection, ids) == before
    assert {doc["_version"] for doc in before.values()} == {2}


async def test_after_a_replay_switch_the_new_generation_is_caught_up_from_the_log_first(
    infra: Infrastructure, store: ReadStore, recorded: list[RecordedEvent]
) -> None:
    """A replay built generation 2 from the first customer's creation only; the events the
    consumer applied to generation 1 meanwhile must reach generation 2 before anything newer,
    or a later revision would land on a document missing the ones before it."""
    handler = consumer(infra, store, events=True)
    await handler(Delivery(recorded[:4], watermark=recorded[3].position))
    mapper = EventMapper(default_registry())
    await store.set_generations("customers", 1, 2)
    building = Projector(CustomerView(), store, mapper, infra.keyring, generation=2)
    await building.catch_up(infra.event_store, until=recorded[0].position)
    await store.set_generations("customers", 2, None)  # the switch, as replay() makes it

    await handler(Delivery(recorded[4:], watermark=recorded[-1].position))
    assert handler.projector.generation == 2
    await replay(
        CustomerView(), events=infra.event_store, store=store, mapper=mapper, keyring=infra.keyring
    )
    everything = Query(sort="_id", limit=100)
    followed = await store.find(collection_name("customers", 2), everything)
    assert followed == await store.find(collection_name("customers", 3), everything)
    assert [doc["_version"] for doc in followed] == [2, 2, 2]


# -- a consumer that follows the log otherwise (notifications) -------------------------------


class RecordingConsumer:
    """A LogConsumer that remembers what it was given and the position it would store."""

    name = "recording"

    def __init__(self) -> None:
        self.seen: list[RecordedEvent] = []
        self.stored: list[int] = []

    async def position(self) -> int | None:
        return self.stored[-1] if self.stored else None

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        self.seen += batch
        if batch or covered is not None:
            self.stored.append(batch[-1].position if covered is None else covered)


async def test_a_log_consumer_is_caught_up_from_the_log_before_its_first_delivery(
    infra: Infrastructure, recorded: list[RecordedEvent]
) -> None:
    log = await infra.event_store.read_all(limit=1000)
    target = RecordingConsumer()
    handler = LogConsumerHandler(target, events=infra.event_store, batch_size=4)
    await handler(Delivery(recorded[-1:], watermark=None))
    assert [event.position for event in target.seen] == [
        *(event.position for event in log),
        recorded[-1].position,
    ]
    assert target.stored[-1] == log[-1].position, "the catch-up's position is kept"


async def test_a_log_consumer_stores_the_watermark_never_lowered(
    recorded: list[RecordedEvent],
) -> None:
    target = RecordingConsumer()
    handler = LogConsumerHandler(target, events=None)
    await handler(Delivery(recorded[:2], watermark=None))
    await handler(Delivery(recorded[2:4], watermark=recorded[3].position))
    await handler(Delivery(recorded[4:], watermark=recorded[0].position))
    assert target.stored == [0, recorded[3].position, recorded[3].position]


async def test_an_empty_delivery_stores_a_higher_watermark_only(
    infra: Infrastructure, store: ReadStore, recorded: list[RecordedEvent]
) -> None:
    handler = consumer(infra, store, events=False)
    await handler(Delivery(recorded, watermark=recorded[2].position))
    await handler(Delivery([], watermark=recorded[-1].position))
    assert await checkpoint(store) == recorded[-1].position
    await handler(Delivery([], watermark=recorded[0].position))
    assert await checkpoint(store) == recorded[-1].position


async def test_an_empty_delivery_reaches_a_log_consumer_as_its_new_position(
    recorded: list[RecordedEvent],
) -> None:
    target = RecordingConsumer()
    handler = LogConsumerHandler(target, events=None)
    await handler(Delivery(recorded, watermark=recorded[2].position))
    await handler(Delivery([], watermark=recorded[-1].position))
    assert target.stored == [recorded[2].position, recorded[-1].position]
