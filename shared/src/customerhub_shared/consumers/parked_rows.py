"""Parked events as table rows, the same for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from customerhub_shared.consumers.parked import ParkedEvent, Status
from customerhub_shared.eventstore import RecordedEvent

COLUMNS = (
    "id, consumer, event_id, stream, revision, position, type, data, metadata, recorded_at,"
    " hash, error, attempts, status, parked_at"
)


def event_values(consumer: str, event: RecordedEvent) -> tuple[Any, ...]:
    return (
        consumer,
        str(event.id),
        event.stream,
        event.revision,
        event.position,
        event.type,
        event.data,
        event.metadata,
        event.recorded_at.isoformat(),
        event.hash,
    )


def from_row(row: tuple[Any, ...]) -> ParkedEvent:
    (id_, consumer, event_id, stream, revision, position, type_, data, metadata, recorded_at,
     hash_, error, attempts, status, parked_at) = row  # fmt: skip
    event = RecordedEvent(
        id=UUID(event_id),
        stream=stream,
        revision=int(revision),
        position=int(position),
        type=type_,
        data=bytes(data),
        metadata=bytes(metadata),
        recorded_at=_moment(recorded_at),
        hash=hash_,
    )
    return ParkedEvent(
        id=int(id_),
        consumer=consumer,
        event=event,
        error=error,
        attempts=int(attempts),
        status=cast(Status, status),
        parked_at=_moment(parked_at),
    )


def _moment(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def now() -> str:
    return datetime.now(UTC).isoformat()
