"""Poison events parked on the Kafka transport: a real broker, the relay, a consumer-group
agent feeding the runtime; the poisoned customer's events park, the others flow, and a retry
marked after the fix is applied between polls, in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewCustomer
from customer_command.relay.relay import Relay
from customerhub_shared.bus.handlers import ConsumerFeed
from customerhub_shared.bus.kafka import KafkaPublisher
from customerhub_shared.bus.kafka_consumer import KafkaAgent
from customerhub_shared.checkpoints.sqlite import SQLiteCheckpointStore
from customerhub_shared.cloudevents import Topics
from customerhub_shared.consumers import Runner
from customerhub_shared.consumers.parked_sqlite import SQLiteParkedStore
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure
from customerhub_shared.settings import Settings

pytestmark = pytest.mark.kafka
ATTEMPTS = 2


class Ledger:
    """Records (stream, revision) in order; raises for any event of a poisoned stream."""

    name = "ledger"

    def __init__(self, poisoned: str) -> None:
        self.poisoned: str | None = poisoned
        self.applied: list[tuple[str, int]] = []
        self.stored: int | None = None

    async def position(self) -> int | None:
        return self.stored

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        if any(event.stream == self.poisoned for event in batch):
            raise RuntimeError("cannot apply")
        self.applied += [(event.stream, event.revision) for event in batch]
        if batch or covered is not None:
            self.stored = batch[-1].position if covered is None else covered


@pytest.fixture
async def infra(tmp_path: Path, kafka_topics: Topics) -> AsyncIterator[Infrastructure]:
    settings = Settings(
        data_dir=tmp_path, jwt_secret="parking-test-0123456789abcdef0123456789", log_level="WARNING"
    )
    opened = await open_infrastructure(settings)
    yield opened
    await opened.close()


async def relayed_customers(
    infra: Infrastructure, tmp_path: Path, bootstrap: str, topics: Topics
) -> list[str]:
    settings = Settings(data_dir=tmp_path, jwt_secret="parking-test-0123456789abcdef0123456789")
    service = customer_command.build_command_service(infra, settings)
    ctx = CommandContext(actor="tester", correlation_id="kafka-parking-test")
    streams = []
    for n in range(4):
        customer_id = uuid.uuid4()
        details = NewCustomer.model_validate(
            {"name": f"Client Parqué {n}", "main_location": {"city": "Lorient"}}
        )
        await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
        await handle(c.AddLabel(customer_id, "parking"), ctx, service.ports)
        streams.append(f"customer-{customer_id}")
    checkpoints = SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    publisher = await KafkaPublisher.open(bootstrap)
    try:
        relay = Relay(infra.event_store, checkpoints, publisher, topics=topics, name="parking")
        await relay.catch_up()
    finally:
        await publisher.close()
        await checkpoints.close()
    return streams


async def test_a_poisoned_customer_parks_on_kafka_and_a_retry_applies_it_in_order(
    infra: Infrastructure, tmp_path: Path, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    streams = await relayed_customers(infra, tmp_path, kafka_bootstrap, kafka_topics)
    parked = SQLiteParkedStore(tmp_path / "parked.db")
    ledger = Ledger(poisoned=streams[1])
    feed = ConsumerFeed(Runner(ledger, events=None, parked=parked, max_attempts=ATTEMPTS))
    group = f"test.parking.{uuid.uuid4().hex[:12]}"
    agent = await KafkaAgent.open(
        kafka_bootstrap,
        topics=[kafka_topics.customer],
        group_id=group,
        handler=feed,
        on_idle=feed.idle,
    )
    stop = asyncio.Event()
    consuming = asyncio.create_task(agent.run(stop))
    history = {stream: len(await infra.event_store.read_stream(stream)) for stream in streams}
    poisoned = [(streams[1], revision) for revision in range(history[streams[1]])]
    others = {
        (stream, revision)
        for stream in streams
        if stream != streams[1]
        for revision in range(history[stream])
    }
    try:
        await until(lambda: others <= set(ledger.applied), "the other customers never flowed")
        rows = await parked.parked("ledger")
        assert sorted((row.event.stream, row.event.revision) for row in rows) == poisoned
        ledger.poisoned = None
        head = min(rows, key=lambda row: row.event.position)
        await parked.mark(head.id, "retry")
        await until(lambda: poisoned[-1] in ledger.applied, "the retry was never applied")
        assert [event for event in ledger.applied if event[0] == streams[1]] == poisoned
        assert await parked.parked("ledger") == []
    finally:
        stop.set()
        await consuming
        await agent.close()
        await parked.close()


async def until(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)
