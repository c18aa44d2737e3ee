"""An in-memory event store and checkpoint store, for the equipment application's tests.

The event store passes the event-store contract (test_fakes.py), so what the reconciler and
the handlers do over it is what they do over SQLite, PostgreSQL or KurrentDB.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from uuid import UUID

from customerhub_shared.eventstore import (
    AppendResult,
    ConcurrencyConflict,
    DuplicateEventId,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from customerhub_shared.eventstore.chain import chained_hashes, head_of
from customerhub_shared.eventstore.subscription import follow_log


class InMemoryEventStore(EventStore):
    def __init__(self) -> None:
        self.log: list[RecordedEvent] = []
        self._ids: set[UUID] = set()
        self._appended = asyncio.Event()

    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        version = await self.stream_version(stream)
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(stream, expected_version, version)
        ids = [event.id for event in events]
        if len(set(ids)) < len(ids) or self._ids.intersection(ids):
            raise DuplicateEventId(str(ids))
        now = datetime.now(UTC)
        previous = head_of(await self.read_stream(stream))
        hashes = chained_hashes(previous, stream, version, events)
        for offset, event in enumerate(events):
            self.log.append(
                RecordedEvent(
                    id=event.id,
                    stream=stream,
                    revision=version + offset,
                    position=len(self.log) + 1,
                    type=event.type,
                    data=event.data,
                    metadata=event.metadata,
                    recorded_at=now,
                    hash=hashes[offset],
                )
            )
        self._ids.update(ids)
        self._appended.set()
        self._appended = asyncio.Event()
        return AppendResult(version=version + len(events), position=len(self.log))

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        return [e for e in self.log if e.stream == stream and e.revision >= from_version]

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        return self.log[after or 0 :][:limit]

    async def head_position(self) -> int | None:
        return len(self.log) or None

    async def stream_version(self, stream: str) -> int:
        return sum(1 for e in self.log if e.stream == stream)

    def subscribe(self, *, after: int | None = None) -> AsyncIterator[RecordedEvent]:
        return follow_log(self.read_all, self._wait_for_append, after=after)

    async def _wait_for_append(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._appended.wait(), 0.1)

    async def close(self) -> None:
        pass


class InMemoryCheckpoints:
    def __init__(self) -> None:
        self.positions: dict[str, int] = {}

    async def get(self, name: str) -> int | None:
        return self.positions.get(name)

    async def save(self, name: str, position: int) -> None:
        self.positions[name] = position
