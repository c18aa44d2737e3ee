"""The event-store port and its adapters (SQLite, PostgreSQL, KurrentDB)."""

from customerhub_shared.eventstore.port import (
    AppendResult,
    ConcurrencyConflict,
    DuplicateEventId,
    EventStore,
    EventStoreError,
    NewEvent,
    RecordedEvent,
)

__all__ = [
    "AppendResult",
    "ConcurrencyConflict",
    "DuplicateEventId",
    "EventStore",
    "EventStoreError",
    "NewEvent",
    "RecordedEvent",
]
