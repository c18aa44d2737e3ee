"""What every equipment command carries besides its own fields, and what it answers."""

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
    causation_id: str | None = None
    idempotency_key: str | None = None
    # If-Match: the version of the resource the route addresses (an item, or a customer).
    expected_version: int | None = None

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
    """`settled` is False when the customer side had not caught up in time (answered 202)."""

    id: UUID
    version: int
    position: int | None
    extra: dict[str, Any] = field(default_factory=dict)
    settled: bool = True


class VersionMismatch(Exception):
    """If-Match named a version the resource is no longer (or not yet) at."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"If-Match {expected}, but the version is {actual}")
        self.expected = expected
        self.actual = actual


def check_if_match(ctx: CommandContext, version: int) -> None:
    if ctx.expected_version is not None and ctx.expected_version != version:
        raise VersionMismatch(ctx.expected_version, version)
