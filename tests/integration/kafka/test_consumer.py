"""The projector as a Kafka consumer, on a real broker: the read model it builds from the topic
alone equals one built by replaying the event store, although the topic holds redelivered
batches; and an agent commits a batch's offsets only once its handler has returned."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import CustomerPatch, NewContact, NewCustomer
from customer_command.relay.relay import Relay
from customer_query.domain.view import CustomerView
from customerhub_shared.bus.handlers import Delivery, ProjectorConsumer
from customerhub_shared.bus.kafka import KafkaPublisher
from customerhub_shared.bus.kafka_consumer import KafkaAgent
from customerhub_shared.checkpoints.sqlite import SQLiteCheckpointStore
from customerhub_shared.cloudevents import Topics
from customerhub_shared.events import default_registry
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure, open_read_store
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import checkpoint_name, collection_name
from customerhub_shared.readstore import Document, Query, ReadStore
from customerhub_shared.replay import replay
from customerhub_shared.settings import Settings
from tests.integration.kafka.topics import partition_count, read_topic

pytestmark = pytest.mark.kafka

CUSTOMERS = 40
RELAY = "consumer-test.relay"


async def write_history(infra: Infrastructure, settings: Settings) -> list[uuid.UUID]:
    """Customers whose events show a redelivery if one were applied twice: labels added and
    removed again, renames, contacts added and removed, archive and reactivate, merges."""
    service = customer_command.build_command_service(infra, settings)
    ctx = CommandContext(actor="tester", correlation_id="kafka-consumer-test")
    ids = [uuid.uuid4() for _ in range(CUSTOMERS)]
    for n, customer_id in enumerate(ids):
        details = NewCustomer.model_validate(
            {"name": f"Client Kafka {n}", "main_location": {"city": "Nantes"}}
        )
        await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
        contact_ids = [uuid.uuid4(), uuid.uuid4()]
        for m, contact_id in enumerate(contact_ids):
            contact = NewContact.model_validate(
                {"name": f"Contact {n}.{m}", "email": f"k{n}.{m}@x.example"}
            )
            await handle(c.AddContact(customer_id, contact_id, contact), ctx, service.ports)
        await handle(c.AddLabel(customer_id, "transient"), ctx, service.ports)
        await handle(c.AddLabel(customer_id, f"label-{n % 5}"), ctx, service.ports)
        await handle(c.RemoveLabel(customer_id, "transient"), ctx, service.ports)
        patch = CustomerPatch.model_validate({"name": f"Client Kafka {n} renamed"})
        await handle(c.ChangeCustomerDetails(customer_id, patch), ctx, service.ports)
        if n % 3 == 0:
            await handle(c.RemoveContact(customer_id, contact_ids[1]), ctx, service.ports)
        await handle(c.ArchiveCustomer(customer_id, None), ctx, service.ports)
        await handle(c.ReactivateCustomer(customer_id), ctx, service.ports)
    for survivor, duplicate in zip(ids[0:10:2], ids[1:10:2], strict=True):
        await handle(c.MergeCustomers(survivor, (duplicate,)), ctx, service.ports)
    return ids


async def documents(store: ReadStore, generation: int) -> list[Document]:
    return await store.find(
        collection_name("customers", generation), Query(sort="_id", limit=10_000)
    )


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, kafka_topics: Topics) -> Settings:
    """An embedded event store (the bus is what is under test) and either read store."""
    read_store: dict[str, Any] = {}
    if request.param == "mongodb":
        read_store = {
            "read_store": "mongodb",
            "mongodb_url": request.getfixturevalue("mongodb_url"),
            "mongodb_database": request.getfixturevalue("mongodb_database"),
        }
    return Settings(
        data_dir=tmp_path,
        jwt_secret="consumer-test-0123456789abcdef0123456789",
        log_level="WARNING",
        kafka_customer_topic=kafka_topics.customer,
        kafka_equipment_topic=kafka_topics.equipment,
        **read_store,
    )


@pytest.fixture
async def infra(settings: Settings) -> AsyncIterator[Infrastructure]:
    opened = await open_infrastructure(settings)
    yield opened
    await opened.close()


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[ReadStore]:
    opened = await open_read_store(settings)
    yield opened
    if settings.read_store == "mongodb":
        for generation in (1, 2):
            await opened.drop(collection_name("customers", generation))
    await opened.close()


async def test_the_read_model_built_from_kafka_equals_a_replay_despite_redelivered_batches(
    settings: Settings,
    infra: Infrastructure,
    store: ReadStore,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    await write_history(infra, settings)
    log = await infra.event_store.read_all(limit=100_000)
    published = [event for event in log if event.stream.startswith("customer-")]

    # The log relayed once, then its second half again: what a relay killed between Kafka's
    # acknowledgement and its checkpoint sends after its restart, many batches over.
    checkpoints = SQLiteCheckpointStore(settings.data_dir / "checkpoints.db")
    publisher = await KafkaPublisher.open(kafka_bootstrap)
    try:
        relay = Relay(
            infra.event_store,
            checkpoints,
            publisher,
            topics=kafka_topics,
            name=RELAY,
            batch_size=50,
        )
        await relay.catch_up()
        await checkpoints.save(RELAY, published[len(published) // 2].position)
        await relay.catch_up()
    finally:
        await publisher.close()
        await checkpoints.close()
    messages = relay.published
    assert messages > len(published), "the topic must hold redelivered events"

    # The projector fed by Kafka alone: no catch-up from the event store.
    handler = ProjectorConsumer(
        CustomerView(), store, EventMapper(default_registry()), infra.keyring, events=None
    )
    agent = await KafkaAgent.open(
        kafka_bootstrap,
        topics=[kafka_topics.customer],
        group_id=f"test.{uuid.uuid4().hex[:12]}",
        handler=handler,
        batch_size=50,
    )
    stop = asyncio.Event()
    consuming = asyncio.create_task(agent.run(stop))
    try:

        async def consumed_all() -> bool:
            assert not consuming.done(), consuming.exception()
            return agent.delivered >= messages

        await eventually(consumed_all, timeout=60, what="the agent did not consume the topic")
    finally:
        stop.set()
        await consuming
        await agent.close()
    assert agent.delivered == messages

    # Every partition drained: the checkpoint is the last customer event's position, so
    # `min_position` of any command answer is reached.
    assert await store.checkpoint(checkpoint_name("customers", 1)) == published[-1].position
    outcome = await replay(
        CustomerView(),
        events=infra.event_store,
        store=store,
        mapper=EventMapper(default_registry()),
        keyring=infra.keyring,
    )
    assert (outcome.previous, outcome.generation) == (1, 2)
    from_kafka, replayed = await documents(store, 1), await documents(store, 2)
    assert len(replayed) == CUSTOMERS
    assert from_kafka == replayed
    versions = {doc["_id"]: doc["_version"] for doc in from_kafka}
    for customer_id, version in versions.items():
        assert version == await infra.event_store.stream_version(f"customer-{customer_id}")


# -- offsets move after the handler, never before -------------------------------------------


async def publish_history(
    infra: Infrastructure, settings: Settings, kafka_bootstrap: str, topics: Topics
) -> int:
    """A few customers relayed to the topic; the number of messages."""
    service = customer_command.build_command_service(infra, settings)
    ctx = CommandContext(actor="tester", correlation_id="kafka-commit-test")
    for n in range(6):
        details = NewCustomer.model_validate(
            {"name": f"Client Offset {n}", "main_location": {"city": "Brest"}}
        )
        customer_id = uuid.uuid4()
        await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
        await handle(c.AddLabel(customer_id, "offset"), ctx, service.ports)
    checkpoints = SQLiteCheckpointStore(settings.data_dir / "checkpoints.db")
    publisher = await KafkaPublisher.open(kafka_bootstrap)
    try:
        relay = Relay(infra.event_store, checkpoints, publisher, topics=topics, name=RELAY)
        return await relay.catch_up()
    finally:
        await publisher.close()
        await checkpoints.close()


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        partitions = range(await partition_count(bootstrap, topic))
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int | None]:
    records = await read_topic(bootstrap, topic)
    ends: dict[int, int | None] = dict.fromkeys(range(await partition_count(bootstrap, topic)))
    for record in records:
        ends[record.partition] = record.offset + 1
    return ends


async def run_agent(
    bootstrap: str,
    topic: str,
    group: str,
    handler: Callable[[Delivery], Awaitable[None]],
    *,
    until: Callable[[KafkaAgent], bool],
    relayed: Callable[[], Awaitable[int | None]] | None = None,
) -> KafkaAgent:
    agent = await KafkaAgent.open(
        bootstrap, topics=[topic], group_id=group, handler=handler, relayed=relayed
    )
    stop = asyncio.Event()
    consuming = asyncio.create_task(agent.run(stop))

    async def done() -> bool:
        assert not consuming.done(), consuming.exception()
        return until(agent)

    try:
        await eventually(done, timeout=60, what="the handler was not called as expected")
    finally:
        stop.set()
        await consuming
        await agent.close()
    return agent


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_offsets_are_committed_only_after_the_handler_returned(
    settings: Settings, infra: Infrastructure, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    messages = await publish_history(infra, settings, kafka_bootstrap, kafka_topics)
    topic, group = kafka_topics.customer, f"test.{uuid.uuid4().hex[:12]}"
    failing_calls = 0

    async def always_failing(delivery: Delivery) -> None:
        nonlocal failing_calls
        failing_calls += 1
        raise RuntimeError("the read store is away")

    # Stopped while its handler keeps failing: nothing is committed.
    await run_agent(
        kafka_bootstrap, topic, group, always_failing, until=lambda _: failing_calls >= 2
    )
    assert set((await committed(kafka_bootstrap, group, topic)).values()) == {None}

    # The next member of the group gets the same events again; a failure is retried, then
    # the offsets move to the end of what it handled.
    calls: list[int] = []
    seen: list[uuid.UUID] = []

    async def failing_once(delivery: Delivery) -> None:
        calls.append(len(delivery.events))
        if len(calls) == 1:
            raise RuntimeError("a brief outage")
        seen.extend(event.id for event in delivery.events)

    await run_agent(
        kafka_bootstrap, topic, group, failing_once, until=lambda _: len(seen) >= messages
    )
    assert calls[0] == calls[1], "the failed batch is handed over again, as it was"
    assert len(seen) == len(set(seen)) == messages
    assert await committed(kafka_bootstrap, group, topic) == await end_offsets(
        kafka_bootstrap, topic
    )


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_an_idle_agent_claims_what_the_relay_checkpointed_after_its_last_delivery(
    settings: Settings, infra: Infrastructure, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    messages = await publish_history(infra, settings, kafka_bootstrap, kafka_topics)
    head = (await infra.event_store.read_all(limit=100_000))[-1].position
    # While the agent reads, the relay has not saved its last checkpoint yet; it has once the
    # agent holds every message, and no message follows to carry that news.
    relay = {"checkpoint": head - 5}
    watermarks: list[int | None] = []
    seen = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal seen
        seen += len(delivery.events)
        watermarks.append(delivery.watermark)
        if seen >= messages:
            relay["checkpoint"] = head

    async def relay_checkpoint() -> int:
        return relay["checkpoint"]

    await run_agent(
        kafka_bootstrap,
        kafka_topics.customer,
        f"test.{uuid.uuid4().hex[:12]}",
        handler,
        until=lambda agent: agent.watermark == head,
        relayed=relay_checkpoint,
    )
    assert max(w or 0 for w in watermarks[:-1]) <= head - 5
    assert watermarks[-1] == head, "an empty delivery hands the new watermark over"
