"""Commands through the HTTP API reach the real Kafka as CloudEvents, in each customer's order.

The embedded app takes the commands in-process; the relay publishes its event log to topics of
this test's own; an aiokafka consumer reads them back from the beginning.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from customer_command.relay.relay import Relay
from customerhub_shared.bus.kafka import KafkaPublisher
from customerhub_shared.checkpoints import open_checkpoint_store
from customerhub_shared.cloudevents import CONTENT_TYPE, CloudEvent, Topics, from_message
from customerhub_shared.events import default_registry
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.infrastructure import open_infrastructure
from customerhub_shared.mapper import EventMapper
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER
from tests.integration.kafka.topics import by_key, read_topic

pytestmark = pytest.mark.kafka

NAMES = [f"Boulangerie Numéro {n}" for n in range(6)]


async def command_history(client: httpx.AsyncClient, create: Callable[..., Any]) -> list[str]:
    """Six customers, each edited a few times; one archived, one anonymised, one merged."""
    ids: list[str] = []
    for n, name in enumerate(NAMES):
        customer = await create(name, email=f"contact{n}@boulangerie.example")
        ids.append(customer["id"])
    for n, customer_id in enumerate(ids):
        url = f"/v1/customers/{customer_id}"
        answers = [
            await client.patch(url, json={"region": f"FR-{n}"}, headers=USER),
            await client.put(f"{url}/labels/bio", headers=USER),
            await client.post(
                f"{url}/contacts",
                json={"name": f"Claire {n}", "email": f"claire{n}@boulangerie.example"},
                headers=USER,
            ),
            await client.patch(url, json={"phone": f"+33 1 40 00 00 0{n}"}, headers=USER),
            await client.delete(f"{url}/labels/vip", headers=USER),
        ]
        for answer in answers:
            assert answer.status_code in (200, 201), answer.text
    lifecycle = [
        await client.post(f"/v1/customers/{ids[1]}/archive", json={}, headers=USER),
        await client.post(f"/v1/customers/{ids[2]}/anonymise", headers=ADMIN),
        await client.post(
            f"/v1/customers/{ids[3]}/merge", json={"duplicate_ids": [ids[4]]}, headers=ADMIN
        ),
    ]
    for answer in lifecycle:
        assert answer.status_code in (200, 201), answer.text
    return ids


async def relay_everything(settings: Settings, bootstrap: str, topics: Topics) -> int:
    infra = await open_infrastructure(settings)
    checkpoints = await open_checkpoint_store(settings)
    publisher = await KafkaPublisher.open(bootstrap)
    try:
        relay = Relay(
            infra.event_store, checkpoints, publisher, topics=topics, name="e2e", batch_size=7
        )
        return await relay.catch_up()
    finally:
        await publisher.close()
        await checkpoints.close()
        await infra.close()


async def store_log(settings: Settings) -> list[RecordedEvent]:
    infra = await open_infrastructure(settings)
    try:
        return await infra.event_store.read_all(limit=100_000)
    finally:
        await infra.close()


async def test_commands_reach_kafka_as_valid_cloudevents_in_each_customers_order(
    client: httpx.AsyncClient,
    app: FastAPI,
    create: Callable[..., Any],
    settings: Settings,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    ids = await command_history(client, create)
    log = await store_log(settings)
    published = [event for event in log if event.stream.startswith("customer-")]
    assert any(not event.stream.startswith("customer-") for event in log), (
        "the history should hold internal streams (name reservations) the relay must skip"
    )

    assert await relay_everything(settings, kafka_bootstrap, kafka_topics) == len(published)
    records = await read_topic(kafka_bootstrap, kafka_topics.customer)
    assert await read_topic(kafka_bootstrap, kafka_topics.equipment) == []

    # Exactly the customer events of the log, each once, every message a valid CloudEvent.
    assert sorted(CloudEvent.model_validate_json(r.value).id for r in records) == sorted(
        e.id for e in published
    )
    by_id = {event.id: event for event in published}
    registry = default_registry()
    for record in records:
        assert_valid_cloudevent(record, by_id, registry_types={t.type_name for t in registry})

    # Per key (customer), the order on the topic is the stream's revision order.
    streams: dict[str, list[RecordedEvent]] = {}
    for event in published:
        streams.setdefault(event.stream, []).append(event)
    grouped = by_key(records)
    assert {key.decode() for key in grouped} == {s.removeprefix("customer-") for s in streams}
    for key, of_key in grouped.items():
        stream = streams[f"customer-{key.decode()}"]
        assert [from_message(r.value).revision for r in of_key] == list(range(len(stream)))
        assert [from_message(r.value).id for r in of_key] == [e.id for e in stream]
        assert len({r.partition for r in of_key}) == 1
        assert [r.offset for r in of_key] == sorted(r.offset for r in of_key)
    assert {key.decode() for key in grouped} >= set(ids)

    await assert_personal_data_is_sealed_on_kafka(records, app, anonymised=ids[2])


def assert_valid_cloudevent(
    record: Any, by_id: dict[uuid.UUID, RecordedEvent], registry_types: set[str]
) -> None:
    headers = dict(record.headers)
    assert headers["content-type"] == CONTENT_TYPE.encode()
    body = CloudEvent.model_validate_json(record.value)
    stored = by_id[body.id]
    assert body.specversion == "1.0"
    assert body.source == "/customerhub/customer-command"
    assert body.type == stored.type and body.type in registry_types
    assert re.fullmatch(r"customerhub\.customer\.[a-z_]+\.v[0-9]+", body.type)
    assert f"customer-{body.subject}" == stored.stream
    assert record.key == str(body.subject).encode() == body.partitionkey.encode()
    assert body.time == stored.recorded_at
    assert json.loads(record.value)["time"].endswith("Z")  # RFC 3339, UTC
    assert body.datacontenttype == "application/json"
    assert body.dataschema == f"urn:customerhub:event:{body.type}"
    assert body.sequence == f"{stored.revision:020d}"
    assert body.position == str(stored.position)
    assert body.actor in {"alice", "bob"}
    assert body.correlationid
    assert list(headers) == ["content-type"], "structured mode only: no ce_ headers"
    assert from_message(record.value).data == stored.data  # the data exactly as stored


async def assert_personal_data_is_sealed_on_kafka(
    records: list[Any], app: FastAPI, *, anonymised: str
) -> None:
    for n, name in enumerate(NAMES):
        for secret in (name, f"contact{n}@boulangerie.example", f"Claire {n}"):
            assert not any(secret.encode() in r.value for r in records), secret
    keyring = app.state.customer_command.ports.keyring
    mapper = EventMapper(default_registry())
    for record in records:
        event = from_message(record.value)
        subject = uuid.UUID(event.stream.removeprefix("customer-"))
        envelope = mapper.to_envelope(event, key=await keyring.key_for(subject))
        sealed = b'"_personal"' in record.value
        if str(subject) == anonymised:
            # The key is destroyed: what Kafka keeps of this customer can no longer be read.
            assert envelope.personal_data_erased == sealed
        else:
            assert not envelope.personal_data_erased
        if envelope.event.type_name == "customerhub.customer.created.v1":
            assert sealed, "a new customer's name travels sealed"
