"""An event store that counts its appends (for `/metrics`) and passes everything through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from prometheus_client import Counter

from customerhub_shared.eventstore.port import (
    AppendResult,
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    RecordedEvent,
    StreamRangeReader,
)


class CountingEventStore(EventStore):
    """Counts appends by outcome (`ok`, `conflict`, `error`) and the events appended."""

    def __init__(
        self, inner: EventStore, *, appends: Counter, appended_events: Counter, store: str
    ) -> None:
        self.inner = inner
        self.dense_positions = inner.dense_positions
        self.reads_in_stream_order = inner.reads_in_stream_order
        self._ok = appends.labels(store=store, outcome="ok")
        self._conflict = appends.labels(store=store, outcome="conflict")
        self._error = appends.labels(store=store, outcome="error")
        self._events = appended_events.labels(store=store)

    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        try:
            result = await self.inner.append(stream, events, expected_version=expected_version)
        except ConcurrencyConflict:
            self._conflict.inc()
            raise
        except BaseException:
            self._error.inc()
            raise
        self._ok.inc()
        self._events.inc(len(events))
        return result

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        return await self.inner.read_stream(stream, from_version=from_version)

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        return await self.inner.read_all(after=after, limit=limit)

    async def read_following(self, *, after: int | None, limit: int) -> list[RecordedEvent]:
        return await self.inner.read_following(after=after, limit=limit)

    async def head_position(self) -> int | None:
        return await self.inner.head_position()

    def subscribe(self, *, after: int | None = None) -> AsyncIterator[RecordedEvent]:
        return self.inner.subscribe(after=after)

    async def stream_version(self, stream: str) -> int:
        return await self.inner.stream_version(stream)

    async def read_in_stream_order(
        self, *, prefix: str, after: tuple[str, int] | None, until: int, limit: int
    ) -> list[RecordedEvent]:
        return await self.inner.read_in_stream_order(
            prefix=prefix, after=after, until=until, limit=limit
        )

    async def stream_sizes(
        self, *, prefix: str, after: str | None, until: int, limit: int
    ) -> list[tuple[str, int]]:
        return await self.inner.stream_sizes(prefix=prefix, after=after, until=until, limit=limit)

    def stream_range_opener(self) -> Callable[[], StreamRangeReader] | None:
        return self.inner.stream_range_opener()

    async def appended(self, timeout: float) -> None:
        await self.inner.appended(timeout)

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        # What an adapter offers beyond the port (e.g. a KurrentDB store's options).
        return getattr(self.inner, name)
