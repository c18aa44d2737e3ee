"""OpenTelemetry traces: one trace from an HTTP command through the append, the relay and
Kafka to each consumer's effect and each message sent.

The W3C trace context travels with the event: the append records the current `traceparent`
in the event's metadata, the relay carries it in the CloudEvent's `traceparent` extension,
and a consumer continues the trace from there. Spans are always made, so downstream
subscribers receive a context; they leave the process only when OTEL_EXPORTER_OTLP_ENDPOINT
is set (OTLP over HTTP). Until a span processor is added (the exporter's, a test's), spans
carry their context and nothing else: nobody would read what they record.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes as SpanAttributes

from customerhub_shared.events.base import DomainEvent, Envelope

__all__ = [
    "Span",
    "SpanKind",
    "appending",
    "configure_tracing",
    "consuming",
    "continuing",
    "current_traceparent",
    "span",
    "started",
    "traceparent_of",
    "tracer",
    "tracer_provider",
]
TRACER = "customerhub"
_PROPAGATOR = TraceContextTextMapPropagator()
Attributes = Mapping[str, str | int]


def configure_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    """Install the process's tracer provider, once; export over OTLP when an endpoint is set."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = tracer_provider(os.environ.get("OTEL_SERVICE_NAME") or service_name)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def tracer_provider(service_name: str) -> TracerProvider:
    """The SDK's provider, whose spans record from the first span processor added on."""
    return _RecordingWhenProcessed(resource=Resource.create({"service.name": service_name}))


class _WhileProcessed(Sampler):
    """Records (and samples) spans once something processes them; until then a span is its
    context alone: trace and span ids that travel, no attributes, no timing."""

    def __init__(self) -> None:
        self.processed = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: SpanAttributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        decide = ALWAYS_ON if self.processed else ALWAYS_OFF
        return decide.should_sample(parent_context, trace_id, name, kind, attributes, links)

    def get_description(self) -> str:
        return "WhileProcessed"


class _RecordingWhenProcessed(TracerProvider):
    """The SDK's provider, whose spans record from the first span processor added on."""

    def __init__(self, *, resource: Resource) -> None:
        self._sampling = _WhileProcessed()
        super().__init__(resource=resource, sampler=self._sampling)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self._sampling.processed = True


@functools.cache
def tracer() -> trace.Tracer:
    """Once per process: before `configure_tracing`, a proxy that follows the provider set then."""
    return trace.get_tracer(TRACER)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span (None outside any recording trace)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def traceparent_of(current: Span) -> str | None:
    """The W3C `traceparent` naming `current` as the parent."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(current))
    return carrier.get("traceparent")


def _context_of(traceparent: str | None) -> Context:
    """The context `traceparent` names; an empty one (a new trace) when there is none."""
    if not traceparent:
        return Context()
    return _PROPAGATOR.extract({"traceparent": traceparent}, context=Context())


def started(
    name: str,
    traceparent: str | None,
    *,
    kind: SpanKind,
    attributes: Attributes | None = None,
) -> Span:
    """A span in the trace `traceparent` names, not made current: the caller ends it."""
    return tracer().start_span(
        name, context=_context_of(traceparent), kind=kind, attributes=attributes
    )


@contextmanager
def continuing(
    name: str,
    traceparent: str | None,
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    attributes: Attributes | None = None,
) -> Iterator[Span]:
    """A span in the trace `traceparent` names (a new trace when there is none)."""
    with tracer().start_as_current_span(
        name, context=_context_of(traceparent), kind=kind, attributes=attributes
    ) as span:
        yield span


@contextmanager
def span(
    name: str, *, kind: SpanKind = SpanKind.INTERNAL, attributes: Attributes | None = None
) -> Iterator[Span]:
    """A child of the current span."""
    with tracer().start_as_current_span(name, kind=kind, attributes=attributes) as current:
        yield current


@contextmanager
def appending(stream: str, events: Sequence[DomainEvent]) -> Iterator[Span]:
    """The append of events to a stream; the events' metadata names this span as their cause."""
    attributes: dict[str, str | int] = {
        "customerhub.stream": stream,
        "customerhub.events": len(events),
        "customerhub.event_types": ",".join(dict.fromkeys(e.type_name for e in events)),
    }
    with span("eventstore.append", kind=SpanKind.CLIENT, attributes=attributes) as current:
        yield current


@contextmanager
def consuming(consumer: str, envelope: Envelope) -> Iterator[Span]:
    """A consumer's work on one event, in the trace of the request that caused the event."""
    attributes: dict[str, str | int] = {
        "customerhub.consumer": consumer,
        "customerhub.event_id": str(envelope.event_id),
        "customerhub.stream": envelope.stream,
        "customerhub.position": envelope.position,
    }
    with continuing(
        f"{consumer} process {envelope.event_type}",
        envelope.metadata.traceparent,
        attributes=attributes,
    ) as current:
        yield current
