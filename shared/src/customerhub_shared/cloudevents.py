"""The bus contract: a recorded event as a CloudEvents 1.0 Kafka message, and back.

Pure mapping, no I/O. Structured content mode: the message value is one JSON CloudEvent
(`application/cloudevents+json`) whose `data` is the event data exactly as stored, so the
personal fields stay sealed under `_personal` with the customer's key and anonymising a
customer shreds them on the topic too. The message key is the aggregate id, so one customer's
events share one partition and keep their order. `from_message` restores the RecordedEvent,
so a consumer feeds the same projector runtime and mapper as a reader of the event store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from customerhub_shared.eventstore.port import RecordedEvent
from customerhub_shared.mapper import dump_json

CUSTOMER_TOPIC = "customerhub.customer.events"
EQUIPMENT_TOPIC = "customerhub.equipment.events"
MEDIA_TYPE = "application/cloudevents+json"
CONTENT_TYPE = f"{MEDIA_TYPE}; charset=UTF-8"
SPEC_VERSION = "1.0"
# The CloudEvents sequence extension compares values as strings: zero-padded revisions sort
# lexicographically in numeric order (20 digits hold any 64-bit revision).
SEQUENCE_DIGITS = 20


@dataclass(frozen=True, slots=True)
class Topics:
    """Where each published aggregate's events go (DESIGN's names unless told otherwise)."""

    customer: str = CUSTOMER_TOPIC
    equipment: str = EQUIPMENT_TOPIC

    def all(self) -> tuple[str, ...]:
        return (self.customer, self.equipment)

    def for_aggregate(self, aggregate: str) -> str:
        return {"customer": self.customer, "equipment": self.equipment}[aggregate]


@dataclass(frozen=True, slots=True)
class Channel:
    """A published aggregate: its stream prefix and the CloudEvents `source` it publishes as."""

    aggregate: str
    source: str


# Only these aggregates' streams reach the bus; internal streams (`customer_name-…`,
# `number_range-…`) guard invariants inside customer-command and are never published.
CHANNELS: Mapping[str, Channel] = {
    "customer": Channel("customer", "/customerhub/customer-command"),
    "equipment": Channel("equipment", "/customerhub/equipment"),
}
_BY_SOURCE = {channel.source: channel for channel in CHANNELS.values()}


@dataclass(frozen=True, slots=True)
class KafkaMessage:
    """One message ready for a Kafka producer: topic, key, value and headers, all bytes."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class InvalidCloudEvent(ValueError):
    """A message that is not one of our CloudEvents (malformed, or from another source)."""


def channel_of(stream: str) -> Channel | None:
    """The channel a stream publishes to, or None for internal streams."""
    aggregate, separator, _ = stream.partition("-")
    return CHANNELS.get(aggregate) if separator else None


class CloudEvent(BaseModel):
    """A customerhub event on the bus: CloudEvents 1.0 in the JSON format (structured mode).

    Unknown attributes are ignored on reading: CloudEvents lets producers add extensions.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", title="CloudEvent")

    specversion: Literal["1.0"] = Field(description="CloudEvents version")
    id: UUID = Field(description="The event's id, unique across the event store")
    source: str = Field(
        description="The publishing service:"
        " /customerhub/customer-command or /customerhub/equipment",
        json_schema_extra={"format": "uri-reference"},
    )
    type: str = Field(
        description="The versioned event type, e.g. customerhub.customer.created.v1",
        pattern=r"^customerhub\.[a-z0-9_.]+\.v[0-9]+$",
    )
    subject: UUID = Field(
        description="The aggregate (customer, equipment item) id; the message key"
    )
    time: datetime = Field(description="When the event store recorded the event (RFC 3339, UTC)")
    datacontenttype: Literal["application/json"] = Field(description="`data` is JSON")
    dataschema: str = Field(
        description="urn:customerhub:event:<type>, the `$id` of the type's published JSON Schema",
        json_schema_extra={"format": "uri"},
    )
    sequence: str = Field(
        description="Sequence extension: the event's revision in its aggregate's stream (0, 1, …),"
        f" zero-padded to {SEQUENCE_DIGITS} digits so that string order is revision order",
        pattern=rf"^[0-9]{{{SEQUENCE_DIGITS}}}$",
    )
    position: str = Field(
        description="The event's position in the event store's global log (decimal digits):"
        " grows with every event, but need not be dense",
        pattern=r"^[0-9]+$",
    )
    partitionkey: str = Field(
        description="Partitioning extension: the Kafka message key (the aggregate id)"
    )
    actor: str = Field(description="Who caused the event (the token's `sub`)")
    correlationid: str = Field(description="The request or process the event belongs to")
    causationid: str | None = Field(
        default=None,
        description="What caused this event: the id of the HTTP request that issued the"
        " command (its `X-Request-ID` answer header), or the id of the event a process reacted"
        " to (the ownership reconciler's `equipment_assigned` names the `owner_changed` it"
        " records). Absent only on events recorded before causation was kept",
    )
    traceparent: str | None = Field(
        default=None,
        description="Distributed tracing extension: the W3C trace context"
        " (version-traceid-parentid-flags) of the relay's publish span, itself in the trace of"
        " the request that caused the event; continue the trace from it. Absent on events"
        " recorded before traces were kept. A reader ignores a malformed one",
        # Documented, not enforced on reading: a bad trace context must not refuse an event.
        json_schema_extra={"pattern": r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
    )
    data: dict[str, Any] = Field(
        description="The event data as stored; personal fields travel sealed in `_personal`"
    )


def to_cloudevent(recorded: RecordedEvent, *, traceparent: str | None = None) -> CloudEvent | None:
    """The CloudEvent for a recorded event; None if its stream is internal. `traceparent`:
    the publisher's span, else the trace context recorded with the event."""
    channel = channel_of(recorded.stream)
    if channel is None:
        return None
    subject = recorded.stream[len(channel.aggregate) + 1 :]
    metadata: dict[str, Any] = json.loads(recorded.metadata)
    return CloudEvent(
        specversion=SPEC_VERSION,
        id=recorded.id,
        source=channel.source,
        type=recorded.type,
        subject=UUID(subject),
        time=_utc(recorded.recorded_at),
        datacontenttype="application/json",
        dataschema=f"urn:customerhub:event:{recorded.type}",
        sequence=str(recorded.revision).zfill(SEQUENCE_DIGITS),
        # A string: KurrentDB's positions exceed the 32-bit CloudEvents Integer type.
        position=str(recorded.position),
        partitionkey=subject,
        actor=metadata["actor"],
        correlationid=metadata["correlation_id"],
        causationid=metadata.get("causation_id") or None,
        traceparent=traceparent or metadata.get("traceparent") or None,
        data=json.loads(recorded.data),
    )


def to_message(
    recorded: RecordedEvent, topics: Topics = Topics(), *, traceparent: str | None = None
) -> KafkaMessage | None:
    """The Kafka message for a recorded event; None if its stream is internal."""
    event = to_cloudevent(recorded, traceparent=traceparent)
    if event is None:
        return None
    key = event.partitionkey.encode()
    # Structured mode, and only `content-type`: a `ce_` header beside it makes auto-detecting
    # readers (the CloudEvents SDKs) take the message for binary mode and lose its attributes.
    headers = (("content-type", CONTENT_TYPE.encode()),)
    topic = topics.for_aggregate(recorded.stream.partition("-")[0])
    value = dump_json(event.model_dump(mode="json", exclude_none=True))
    return KafkaMessage(topic=topic, key=key, value=value, headers=headers)


def is_cloudevent(headers: Iterable[tuple[str, bytes]] | None) -> bool:
    """True when a message's `content-type` header says structured CloudEvents JSON."""
    content_type = dict(headers or ()).get("content-type", b"").decode(errors="replace")
    return content_type.strip().lower().startswith(MEDIA_TYPE)


def from_message(value: bytes) -> RecordedEvent:
    """The RecordedEvent a message carries, as the event store recorded it.

    What the contract does not carry comes back as follows: the metadata's `occurred_at` is
    the recording time (`time`), and the idempotency key a client sent stays in the store.
    """
    try:
        event = CloudEvent.model_validate_json(value)
    except ValidationError as error:
        raise InvalidCloudEvent(f"not a customerhub CloudEvent: {error}") from error
    return recorded_from(event)


def recorded_from(event: CloudEvent) -> RecordedEvent:
    """The RecordedEvent a parsed CloudEvent carries (see `from_message`)."""
    channel = _BY_SOURCE.get(event.source)
    if channel is None:
        raise InvalidCloudEvent(f"source {event.source!r} is not a customerhub source")
    metadata = {
        "actor": event.actor,
        "correlation_id": event.correlationid,
        "causation_id": event.causationid,
        "occurred_at": event.time.isoformat(),
        **({"traceparent": event.traceparent} if event.traceparent else {}),
    }
    return RecordedEvent(
        id=event.id,
        stream=f"{channel.aggregate}-{event.subject}",
        revision=int(event.sequence),
        position=int(event.position),
        type=event.type,
        data=dump_json(event.data),  # the mapper's encoding: the bytes the store holds
        metadata=dump_json(metadata),
        recorded_at=event.time,
    )


def _utc(instant: datetime) -> datetime:
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(UTC)
