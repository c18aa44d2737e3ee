"""One trace from an HTTP command through the append, the relay and Kafka to each consumer's
effect and the message sent, checked with an in-memory span exporter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from customer_query.domain.view import CustomerView
from customerhub_shared.cloudevents import CloudEvent, Topics, from_message
from customerhub_shared.events import default_registry
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector
from customerhub_shared.settings import Settings
from customerhub_shared.tracing import configure_tracing
from tests.e2e.conftest import USER
from tests.e2e.test_relay import relay_everything
from tests.integration.kafka.topics import read_topic

CONTACT = {
    "name": "Claire Martin",
    "email": "claire@martin.example",
    "main": True,
    "notify": {"email": True},
}


@pytest.fixture(scope="session")
def exporter() -> InMemorySpanExporter:
    configure_tracing("customerhub-tests", None)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


def _in_trace(spans: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.context and s.context.trace_id == trace_id]


def _named(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


async def _command_trace(
    client: httpx.AsyncClient, create: Any, spans: InMemorySpanExporter
) -> tuple[str, int]:
    """Adds a main contact; the trace id of the HTTP request that did it."""
    customer_id = (await create())["id"]
    added = await client.post(f"/v1/customers/{customer_id}/contacts", json=CONTACT, headers=USER)
    assert added.status_code == 201, added.text
    [server] = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.SERVER and s.name == "POST /v1/customers/{customer_id}/contacts"
    ]
    assert server.context is not None
    return customer_id, server.context.trace_id


async def test_a_command_is_one_trace_to_the_view_and_the_email_sent(
    client: httpx.AsyncClient, create: Any, spans: InMemorySpanExporter
) -> None:
    customer_id, trace_id = await _command_trace(client, create, spans)
    for _ in range(1000):
        mine = _in_trace(spans, trace_id)
        if _named(mine, "notifications send email") and _named(mine, "customers process"):
            break
        await asyncio.sleep(0.02)
    [append] = _named(mine, "eventstore.append")
    assert append.attributes is not None
    assert append.attributes["customerhub.stream"] == f"customer-{customer_id}"
    processed = {s.name for s in _named(mine, "customers process")}
    assert "customers process customerhub.customer.contact_added.v2" in processed
    [welcome] = _named(mine, "notifications process customerhub.customer.main_contact_chosen")
    [send] = _named(mine, "notifications send email")
    # Consumers continue from the append: their parent is the append span.
    assert all(s.parent is not None for s in (welcome, send))
    assert welcome.parent is not None and append.context is not None
    assert welcome.parent.span_id == append.context.span_id
    assert send.kind == SpanKind.CLIENT


@pytest.mark.kafka
async def test_the_trace_crosses_kafka_in_the_cloudevent_traceparent(
    client: httpx.AsyncClient,
    create: Any,
    settings: Settings,
    spans: InMemorySpanExporter,
    kafka_bootstrap: str,
    kafka_topics: Topics,
) -> None:
    customer_id, trace_id = await _command_trace(client, create, spans)
    await relay_everything(settings, kafka_bootstrap, kafka_topics)
    records = await read_topic(kafka_bootstrap, kafka_topics.customer)
    contact_added = [
        record
        for record in records
        if CloudEvent.model_validate_json(record.value).type.endswith("contact_added.v2")
    ]
    [message] = [r for r in contact_added if r.key.decode() == customer_id]
    cloudevent = CloudEvent.model_validate_json(message.value)
    assert cloudevent.traceparent is not None
    _, carried_trace, carried_parent, _ = cloudevent.traceparent.split("-")
    assert int(carried_trace, 16) == trace_id
    [publish] = _named(_in_trace(spans, trace_id), "relay publish customerhub.customer.contact")
    assert publish.kind == SpanKind.PRODUCER and publish.context is not None
    assert int(carried_parent, 16) == publish.context.span_id

    # A consumer of the topic continues the trace from the message it read.
    infra = await open_infrastructure(settings)
    store = await open_read_store(settings)
    try:
        projector = Projector(
            CustomerView(), store, EventMapper(default_registry()), infra.keyring, generation=9
        )
        await projector.process([from_message(message.value)])
    finally:
        await store.close()
        await infra.close()
    consumed = [
        s
        for s in _named(_in_trace(spans, trace_id), "customers process")
        if s.parent is not None and s.parent.span_id == publish.context.span_id
    ]
    assert [s.kind for s in consumed] == [SpanKind.CONSUMER]


async def test_an_assignment_is_one_trace_through_the_reconciler_to_the_sms_sent(
    client: httpx.AsyncClient, create: Any, spans: InMemorySpanExporter
) -> None:
    customer_id = (await create())["id"]
    alerted = {
        "name": "Marc Petit",
        "phone": "+33622222222",
        "notify": {"sms": True},
        "equipment_alerts": True,
    }
    added = await client.post(f"/v1/customers/{customer_id}/contacts", json=alerted, headers=USER)
    assert added.status_code == 201, added.text
    item = await client.post("/v1/equipment", json={"name": "Four"}, headers=USER)
    assert item.status_code == 201, item.text
    spans.clear()
    assigned = await client.post(
        f"/v1/customers/{customer_id}/equipment",
        json={"equipment_ids": [item.json()["id"]]},
        headers=USER,
    )
    assert assigned.status_code == 200, assigned.text
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.context is not None
    for _ in range(1000):
        mine = _in_trace(spans, server.context.trace_id)
        if _named(mine, "notifications send sms"):
            break
        await asyncio.sleep(0.02)
    assert _named(mine, "ownership-reconciler record")
    appended = [s.attributes or {} for s in _named(mine, "eventstore.append")]
    streams = {str(a["customerhub.stream"]).split("-")[0] for a in appended}
    assert streams == {"equipment", "customer"}
    [planned] = _named(mine, "notifications process customerhub.customer.equipment_assigned")
    assert planned.parent is not None
    assert [s.kind for s in _named(mine, "notifications send sms")] == [SpanKind.CLIENT]
