"""Messages read off a real topic by the official CloudEvents Python SDK keep every attribute.

A consumer nobody here wrote: `cloudevents.core.bindings.kafka.from_kafka` (the SDK's 2.x
reader, which picks binary or structured mode by itself) and the 1.x API the same package still
ships (`cloudevents.v1.kafka.from_structured`). Each attribute and extension must come back as
the event store recorded it; a `ce_` header beside the structured value would make the
auto-detecting reader take the message for binary mode and lose them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1 import kafka as sdk_v1_kafka

from customerhub_shared.cloudevents import Topics
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.settings import Settings
from tests.e2e.conftest import USER
from tests.e2e.test_relay import command_history, relay_everything, store_log
from tests.integration.kafka.topics import read_topic

pytestmark = pytest.mark.kafka

SOURCES = {"customer": "/customerhub/customer-command", "equipment": "/customerhub/equipment"}


async def assign_equipment(client: httpx.AsyncClient, customer_id: str) -> None:
    registered = await client.post("/v1/equipment", json={"name": "Four"}, headers=USER)
    assert registered.status_code == 201, registered.text
    body = {"equipment_ids": [registered.json()["id"]]}
    answer = await client.post(f"/v1/customers/{customer_id}/equipment", json=body, headers=USER)
    assert answer.status_code == 200, answer.text


def expected_attributes(stored: RecordedEvent) -> dict[str, Any]:
    metadata = json.loads(stored.metadata)
    aggregate, _, subject = stored.stream.partition("-")
    return {
        "specversion": "1.0",
        "id": str(stored.id),
        "source": SOURCES[aggregate],
        "type": stored.type,
        "subject": subject,
        "datacontenttype": "application/json",
        "dataschema": f"urn:customerhub:event:{stored.type}",
        "sequence": f"{stored.revision:020d}",
        "position": str(stored.position),
        "partitionkey": subject,
        "actor": metadata["actor"],
        "correlationid": metadata["correlation_id"],
        "causationid": metadata["causation_id"],
    }


def _trace_id(carrier: str | RecordedEvent) -> str:
    """The trace id of a `traceparent`, or of the one recorded with an event: the relay's
    publish span is in the trace of the request that appended the event."""
    if isinstance(carrier, RecordedEvent):
        carrier = json.loads(carrier.metadata)["traceparent"]
    assert isinstance(carrier, str)
    return carrier.split("-")[1]


def record_message(record: Any) -> tuple[dict[str, bytes], bytes, bytes]:
    return dict(record.headers), record.key, record.value


async def published_records(
    client: httpx.AsyncClient,
    create: Callable[..., Any],
    settings: Settings,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> tuple[list[Any], dict[str, RecordedEvent]]:
    ids = await command_history(client, create)
    await assign_equipment(client, ids[0])
    await relay_everything(settings, kafka_bootstrap, kafka_topics)
    records = await read_topic(kafka_bootstrap, kafka_topics.customer)
    records += await read_topic(kafka_bootstrap, kafka_topics.equipment)
    stored = {str(event.id): event for event in await store_log(settings)}
    return records, stored


async def test_the_sdks_auto_detecting_reader_keeps_every_attribute_and_extension(
    client: httpx.AsyncClient,
    create: Callable[..., Any],
    settings: Settings,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    records, stored = await published_records(
        client, create, settings, kafka_bootstrap, kafka_topics
    )
    assert len(records) > 40
    types = set()
    for record in records:
        headers, key, value = record_message(record)
        event = sdk_kafka.from_kafka(
            sdk_kafka.KafkaMessage(headers=headers, key=key, value=value), JSONFormat()
        )
        attributes = event.get_attributes()
        original = stored[attributes["id"]]
        expected = expected_attributes(original)
        # Every attribute we publish, and nothing the SDK made up from headers.
        assert {name: attributes.get(name) for name in expected} == expected
        assert set(attributes) == set(expected) | {"time", "traceparent"}
        assert _trace_id(attributes["traceparent"]) == _trace_id(original)
        assert isinstance(attributes["time"], datetime)
        assert attributes["time"] == original.recorded_at
        assert event.get_data() == json.loads(original.data)
        assert attributes["causationid"], "every published event names its cause"
        types.add(attributes["type"])
    assert "customerhub.equipment.owner_changed.v1" in types
    assert "customerhub.customer.equipment_assigned.v1" in types


async def test_the_sdks_1x_structured_reader_keeps_every_attribute_but_datacontenttype(
    client: httpx.AsyncClient,
    create: Callable[..., Any],
    settings: Settings,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    records, stored = await published_records(
        client, create, settings, kafka_bootstrap, kafka_topics
    )
    for record in records:
        headers, key, value = record_message(record)
        message = sdk_v1_kafka.KafkaMessage(headers=headers, key=key.decode(), value=value)
        event = sdk_v1_kafka.from_structured(message)
        original = stored[event["id"]]
        expected = expected_attributes(original)
        # 1.x copies the Kafka `content-type` header over `datacontenttype`, whatever the value
        # says (structured mode must send that header): the one attribute it cannot keep.
        expected["datacontenttype"] = headers["content-type"].decode()
        assert {name: event.get(name) for name in expected} == expected
        assert set(event.get_attributes()) == set(expected) | {"time", "traceparent"}
        assert _trace_id(event["traceparent"]) == _trace_id(original)
        assert datetime.fromisoformat(event["time"]) == original.recorded_at
        assert event.get_data() == json.loads(original.data)
