"""OpenTelemetry traces: one trace from an HTTP command through the append, the relay and
Kafka to each consumer's effect and each message sent.

The W3C trace context travels with the event: the append records the current `traceparent`
in the event's metadata, the relay carries it in the CloudEvent's `traceparent` extension,
and a consumer continues the trace from there. Spans are always made, so downstream
subscribers receive a context; they leave the process only when OTEL_EXPORTER_OTLP_ENDPOINT
is set (OTLP over HTTP). Until a span processor is added (the exporter's, a test's), spans
carry their context (the same ids and flags) and nothing else: nobody would read the rest.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import Token

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from customerhub_shared.events.base import DomainEvent, Envelope

__all__ = [
    "Span",
    "SpanKind",
    "appending",
    "configure_tracing",
    "consuming",
    "continuing",
    "current_span",
    "current_traceparent",
    "span",
    "started",
    "traceparent_of",
    "tracer",
    "tracer_provider",
]
TRACER = "customerhub"
_PROPAGATOR = TraceContextTextMapPropagator()
_IDS = RandomIdGenerator()
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
    """The SDK's provider, knowing whether a span processor was added: until one is, this
    module's spans are their context alone (nothing would read what they record)."""
    return _RecordingWhenProcessed(resource=Resource.create({"service.name": service_name}))


class _RecordingWhenProcessed(TracerProvider):
    processed = False

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.processed = True


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


@functools.lru_cache(maxsize=256)  # each consumer of an event continues the same trace
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


def continuing(
    name: str,
    traceparent: str | None,
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    attributes: Attributes | None = None,
) -> AbstractContextManager[Span]:
    """A span in the trace `traceparent` names (a new trace when there is none)."""
    return current_span(name, _context_of(traceparent), kind=kind, attributes=attributes)


def span(
    name: str, *, kind: SpanKind = SpanKind.INTERNAL, attributes: Attributes | None = None
) -> AbstractContextManager[Span]:
    """A child of the current span."""
    return current_span(name, None, kind=kind, attributes=attributes)


def current_span(
    name: str,
    parent: Context | None,
    *,
    kind: SpanKind,
    attributes: Attributes | None = None,
) -> AbstractContextManager[Span]:
    """A span, current for the block, in `parent`'s trace (default: the current one)."""
    if _unread():
        return _Unread(parent)
    return tracer().start_as_current_span(name, context=parent, kind=kind, attributes=attributes)


def appending(stream: str, events: Sequence[DomainEvent]) -> AbstractContextManager[Span]:
    """The append of events to a stream; the events' metadata names this span as their cause."""
    if _unread():
        return _Unread(None)
    attributes: dict[str, str | int] = {
        "customerhub.stream": stream,
        "customerhub.events": len(events),
        "customerhub.event_types": ",".join(dict.fromkeys(e.type_name for e in events)),
    }
    return span("eventstore.append", kind=SpanKind.CLIENT, attributes=attributes)


def consuming(consumer: str, envelope: Envelope) -> AbstractContextManager[Span]:
    """A consumer's work on one event, in the trace of the request that caused the event."""
    if _unread():
        return _Unread(_context_of(envelope.metadata.traceparent))
    attributes: dict[str, str | int] = {
        "customerhub.consumer": consumer,
        "customerhub.event_id": str(envelope.event_id),
        "customerhub.stream": envelope.stream,
        "customerhub.position": envelope.position,
    }
    return continuing(
        f"{consumer} process {envelope.event_type}",
        envelope.metadata.traceparent,
        attributes=attributes,
    )


def _unread() -> bool:
    """Whether the spans made now would record nothing (this module's provider, no processor)."""
    provider = trace.get_tracer_provider()
    return isinstance(provider, _RecordingWhenProcessed) and not provider.processed


class _Unread(AbstractContextManager[Span]):
    """The span the SDK makes where nothing processes spans, without the SDK's machinery: a
    context (its trace's id, an id of its own), current for the block, recording nothing."""

    __slots__ = ("_parent", "_token")

    def __init__(self, parent: Context | None) -> None:
        self._parent = parent
        self._token: Token[Context] | None = None

    def __enter__(self) -> Span:
        parent = trace.get_current_span(self._parent).get_span_context()
        if parent.is_valid:  # sampled as its parent is, as the SDK's default sampler says
            trace_id, state, flags = parent.trace_id, parent.trace_state, parent.trace_flags
        else:
            trace_id, state = _IDS.generate_trace_id(), None
            flags = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
        flags = TraceFlags(flags & (TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID))
        context = SpanContext(
            trace_id, _IDS.generate_span_id(), is_remote=False, trace_flags=flags, trace_state=state
        )
        current = NonRecordingSpan(context)
        self._token = otel_context.attach(trace.set_span_in_context(current, self._parent))
        return current

    def __exit__(self, *_: object) -> None:
        assert self._token is not None
        otel_context.detach(self._token)
