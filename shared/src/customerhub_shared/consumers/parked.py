"""The parked-events port: events a consumer gave up on, kept durably with their error.

An event that keeps failing is parked and the consumer moves on; its stream's later events
are parked behind it, so no stream is ever applied out of order. An operator marks a parked
stream for retry (after a fix) or skips its head; the consumer's runner then applies what is
marked, in stream order, and removes what it applied.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from customerhub_shared.eventstore import RecordedEvent

Status = Literal["parked", "retry", "skipped"]


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    id: int
    consumer: str
    event: RecordedEvent
    error: str
    attempts: int
    status: Status
    parked_at: datetime


class ParkedStore(abc.ABC):
    @abc.abstractmethod
    async def park(self, consumer: str, event: RecordedEvent, *, error: str, attempts: int) -> int:
        """Keep `event` for `consumer` (once: parking it again returns the same id)."""

    @abc.abstractmethod
    async def blocked_streams(self, consumer: str) -> set[str]:
        """The streams with an event parked for `consumer`: their next events park behind."""

    @abc.abstractmethod
    async def parked(self, consumer: str | None = None) -> list[ParkedEvent]:
        """What is parked (for one consumer, or all), by consumer then log position."""

    @abc.abstractmethod
    async def get(self, parked_id: int) -> ParkedEvent | None: ...

    @abc.abstractmethod
    async def mark(self, parked_id: int, status: Status) -> list[ParkedEvent]:
        """Mark one parked event, and every event parked behind it for retry: the rows of its
        stream for its consumer from it on, as changed; empty if there is no such id."""

    @abc.abstractmethod
    async def failed_again(self, parked_id: int, error: str) -> None:
        """A retry failed: parked again, with the new error and one more attempt."""

    @abc.abstractmethod
    async def remove(self, parked_id: int) -> None: ...

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """How many events each consumer has parked (consumers with none are absent)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
