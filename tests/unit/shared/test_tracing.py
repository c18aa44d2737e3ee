"""The trace context travels with the event: recorded in its metadata at the append, carried
as the CloudEvent's `traceparent` extension, continued by whoever reads it."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from customer_command.relay.relay import Relay
from customerhub_shared import tracing
from customerhub_shared.cloudevents import (
    CloudEvent,
    KafkaMessage,
    Topics,
    from_message,
    to_cloudevent,
    to_message,
)
from customerhub_shared.events import default_registry
from customerhub_shared.events.schemas import asyncapi_document
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.tracing import (
    configure_tracing,
    consuming,
    continuing,
    current_traceparent,
    span,
    traceparent_of,
    tracer_provider,
)
from tests.unit.shared.test_cloudevents import KEY, MAPPER, created, recorded

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _with_traceparent(traceparent: str) -> RecordedEvent:
    customer_id = uuid.uuid4()
    event = recorded(created(customer_id), stream=f"customer-{customer_id}")
    metadata = {**json.loads(event.metadata), "traceparent": traceparent}
    return dataclasses.replace(event, metadata=json.dumps(metadata).encode())


def _exporter() -> InMemorySpanExporter:
    configure_tracing("customerhub-tests", None)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


def test_the_recorded_trace_context_is_the_cloudevents_and_comes_back_from_the_topic() -> None:
    event = _with_traceparent(TRACEPARENT)
    cloudevent = to_cloudevent(event)
    assert cloudevent is not None and cloudevent.traceparent == TRACEPARENT
    message = to_message(event)
    assert message is not None and dict(message.headers).keys() == {"content-type"}
    back = from_message(message.value)
    assert json.loads(back.metadata)["traceparent"] == TRACEPARENT
    assert MAPPER.to_envelope(back, key=KEY).metadata.traceparent == TRACEPARENT


def test_a_consumer_continues_the_trace_and_a_malformed_context_starts_a_new_one() -> None:
    spans = _exporter()
    good = MAPPER.to_envelope(_with_traceparent(TRACEPARENT), key=KEY)
    bad = MAPPER.to_envelope(_with_traceparent("00-abc-def-01"), key=KEY)
    with consuming("customers", good):
        pass
    with consuming("customers", bad):
        pass
    continued, fresh = spans.get_finished_spans()[-2:]
    assert continued.context is not None and continued.parent is not None
    assert f"{continued.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert f"{continued.parent.span_id:016x}" == TRACEPARENT.split("-")[2]
    assert fresh.parent is None


def test_spans_carry_their_context_alone_until_a_processor_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = tracer_provider("customerhub-tests")
    monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: provider)
    with span("unread", attributes={"a": "b"}) as unread:
        assert not unread.is_recording()
        with span("child") as child:
            assert child.get_span_context().trace_id == unread.get_span_context().trace_id
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("tests"))
    with span("read", attributes={"a": "b"}) as read:
        assert read.is_recording()
    assert [(s.name, dict(s.attributes or {})) for s in memory.get_finished_spans()] == [
        ("read", {"a": "b"})
    ]


@pytest.mark.parametrize(
    "traceparent",
    [TRACEPARENT, TRACEPARENT[:-2] + "00", TRACEPARENT[:-2] + "03", None],
    ids=["sampled", "unsampled", "random id", "none"],
)
def test_where_nothing_reads_spans_their_context_is_the_sdks(
    monkeypatch: pytest.MonkeyPatch, traceparent: str | None
) -> None:
    provider = tracer_provider("customerhub-tests")
    monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: provider)
    sdk = provider.get_tracer("tests")
    parent = tracing._context_of(traceparent)
    with continuing("ours", traceparent) as ours, sdk.start_as_current_span("sdk", parent) as sdks:
        assert not ours.is_recording()
        mine, theirs = ours.get_span_context(), sdks.get_span_context()
        assert (mine.trace_flags, mine.trace_state) == (theirs.trace_flags, theirs.trace_state)
        assert mine.is_valid and mine.span_id != theirs.span_id
        if traceparent is not None:
            assert mine.trace_id == theirs.trace_id == int(traceparent.split("-")[1], 16)
    with span("outer") as outer, span("inner"):
        inner, above = current_traceparent(), traceparent_of(outer)
        assert inner is not None and above is not None and inner != above
        assert inner.split("-")[1] == f"{outer.get_span_context().trace_id:032x}"
        assert inner.split("-")[3] == above.split("-")[3] == "03"  # sampled, a random id
    assert current_traceparent() is None


def test_the_current_trace_context_is_what_an_append_records() -> None:
    _exporter()
    assert current_traceparent() is None
    with span("command") as current:
        traceparent = current_traceparent()
    assert traceparent is not None
    assert traceparent.split("-")[2] == f"{current.get_span_context().span_id:016x}"


def test_the_asyncapi_document_describes_the_traceparent_extension() -> None:
    schemas = asyncapi_document(default_registry())["components"]["schemas"]
    traceparent = schemas["CloudEvent"]["properties"]["traceparent"]
    assert traceparent["pattern"].startswith("^[0-9a-f]{2}-")
    assert "W3C" in traceparent["description"]
    assert "traceparent" not in schemas["CloudEvent"].get("required", [])


class _Bus:
    def __init__(self) -> None:
        self.sent: list[KafkaMessage] = []

    async def publish(self, messages: list[KafkaMessage]) -> None:
        self.sent.extend(messages)


class _Checkpoints:
    async def save(self, name: str, position: int) -> None:
        self.position = position


async def test_the_relay_publishes_each_event_in_its_own_trace() -> None:
    spans = _exporter()
    bus = _Bus()
    relay = Relay(None, _Checkpoints(), bus, topics=Topics(), name="t")  # type: ignore[arg-type]
    customer_id = uuid.uuid4()
    untraced = recorded(created(customer_id), stream=f"customer-{customer_id}", revision=1)
    await relay.relay_batch([_with_traceparent(TRACEPARENT), untraced])
    traced_span, untraced_span = spans.get_finished_spans()[-2:]
    assert traced_span.parent is not None and untraced_span.parent is None
    carried = [CloudEvent.model_validate_json(m.value).traceparent for m in bus.sent]
    assert carried[0] is not None and carried[0].split("-")[1] == TRACEPARENT.split("-")[1]
    assert untraced_span.context is not None and carried[1] is not None
    assert carried[1].split("-")[1] == f"{untraced_span.context.trace_id:032x}"
