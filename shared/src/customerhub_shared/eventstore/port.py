"""The event-store port: streams with optimistic concurrency and one ordered global log.

Versions count events: a stream with N events has version N, its events have revisions
0..N-1. `expected_version=0` means "the stream must not exist yet"; `None` means "any".
Positions order the global log; they grow strictly but need not be dense (KurrentDB's
commit positions are not). Every adapter records each event's chain hash (eventstore/chain.py)
in the same atomic append.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event ready to append: the mapper has already turned it into bytes."""

    id: UUID
    type: str
    data: bytes
    metadata: bytes


# The events of the streams `first` to `last` (both included, in name order) at positions up
# to `until`, in (stream, revision) order: a rebuild worker's read.
StreamRangeReader = Callable[[str, str, int], list["RecordedEvent"]]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the store recorded it, with its place in its stream and in the log."""

    id: UUID
    stream: str
    revision: int
    position: int
    type: str
    data: bytes
    metadata: bytes
    recorded_at: datetime
    # The chain hash the store holds (eventstore/chain.py); None for events recorded before
    # hashes existed, and for events rebuilt from a bus message.
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    version: int
    position: int


class EventStoreError(Exception):
    """The store failed in a way the caller cannot fix by retrying the same command."""


class ConcurrencyConflict(EventStoreError):
    """The stream's version was not the one the writer expected."""

    def __init__(self, stream: str, expected: int | None, actual: int) -> None:
        super().__init__(f"{stream}: expected version {expected}, actual {actual}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class DuplicateEventId(EventStoreError):
    """An event with this id is already recorded (event ids are unique across the store)."""


class EventStore(abc.ABC):
    """Append-only streams plus the ordered global log every projector follows."""

    # Whether positions count events (gaps aside): then a follower's lag in events is the
    # difference of positions; otherwise it has to be counted (followers.py).
    dense_positions: bool = True

    @abc.abstractmethod
    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        """Append atomically; ConcurrencyConflict if the stream is not at the expected version."""

    @abc.abstractmethod
    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        """The stream's events from revision `from_version` on, oldest first; [] if none."""

    @abc.abstractmethod
    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        """Up to `limit` events of the global log with position > `after`, in log order."""

    async def read_following(self, *, after: int | None, limit: int) -> list[RecordedEvent]:
        """`read_all` for a follower of the log, which looks again: the answer may stop short
        of events another process appended last, and a later call returns them."""
        return await self.read_all(after=after, limit=limit)

    @abc.abstractmethod
    async def head_position(self) -> int | None:
        """The position of the newest event in the log, None when the log is empty."""

    @abc.abstractmethod
    def subscribe(self, *, after: int | None = None) -> AsyncIterator[RecordedEvent]:
        """Catch up from `after`, then follow new events live, in log order, for ever."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    async def stream_version(self, stream: str) -> int:
        return len(await self.read_stream(stream))

    # Whether `read_in_stream_order` works here (a rebuild then folds each stream once).
    reads_in_stream_order: bool = False

    async def read_in_stream_order(
        self, *, prefix: str, after: tuple[str, int] | None, until: int, limit: int
    ) -> list[RecordedEvent]:
        """Up to `limit` events of the streams named `prefix...`, with positions up to
        `until`, in (stream, revision) order after `after` (stream, revision)."""
        raise NotImplementedError(f"{type(self).__name__} reads in log order only")

    async def stream_sizes(
        self, *, prefix: str, after: str | None, until: int, limit: int
    ) -> list[tuple[str, int]]:
        """Up to `limit` streams named `prefix...` after the stream `after`, in order, each
        with its count of events at positions up to `until` (streams with none left out)."""
        raise NotImplementedError(f"{type(self).__name__} reads in log order only")

    def stream_range_opener(self) -> Callable[[], StreamRangeReader] | None:
        """Where another process can read this log itself (a rebuild's workers): a function
        that, run there, opens the log anew and returns a reader of stream ranges."""
        return None

    async def appended(self, timeout: float) -> None:
        """Return once an event may have been appended (where the store hears of appends), or
        after `timeout` seconds: how a caught-up follower rests without a poll's delay."""
        await asyncio.sleep(timeout)
