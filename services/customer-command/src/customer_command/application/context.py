"""What every command carries besides its own fields, and what every command answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from customerhub_shared.events import EventMetadata
from customerhub_shared.tracing import current_traceparent


@dataclass(frozen=True, slots=True)
class CommandContext:
    actor: str
    correlation_id: str
    idempotency_key: str | None = None
    # What the key was given for (the request's method and path): the same key sent to
    # another operation is another request, and must not be taken for a retry of this one.
    operation: str = ""
    expected_version: int | None = None
    # What caused the command: the HTTP request's id, or the event a process reacted to.
    causation_id: str | None = None

    def metadata(self) -> EventMetadata:
        return EventMetadata(
            actor=self.actor,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            occurred_at=datetime.now(UTC),
            idempotency_key=self.idempotency_key,
            traceparent=current_traceparent(),
        )


@dataclass(frozen=True, slots=True)
class CommandResult:
    id: UUID
    version: int
    position: int | None
    extra: dict[str, Any] = field(default_factory=dict)


class CustomerNotFound(LookupError):
    def __init__(self, customer_id: UUID) -> None:
        super().__init__(f"customer {customer_id} does not exist")
        self.customer_id = customer_id


class VersionMismatch(Exception):
    """If-Match named a version the customer is no longer (or not yet) at."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"If-Match {expected}, but the customer is at version {actual}")
        self.expected = expected
        self.actual = actual
