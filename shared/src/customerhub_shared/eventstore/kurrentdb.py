"""The KurrentDB (EventStoreDB) event store: a thin adapter over `kurrentdbclient`'s asyncio client.

Mapping onto the port:

* Versions count events, KurrentDB's stream positions ("revisions") are 0-based, so
  `expected_version` N is `current_version=N-1`, 0 is `StreamState.NO_STREAM` and None is
  `StreamState.ANY`. A stale version raises `WrongCurrentVersionError`, mapped to
  `ConcurrencyConflict`.
* Positions are KurrentDB commit positions: they grow but are not dense. `append` returns the
  commit position of the last event it recorded, which is what the client documents
  `append_to_stream()` to return.
* The global log is `$all` without KurrentDB's own events: the server-side filter
  `DEFAULT_EXCLUDE_FILTER` drops event types starting with `$` (and persistent-subscription and
  projection-result events), and the adapter also drops events of streams starting with `$`.
* `subscribe` is a native catch-up subscription to `$all` with the same filter.

Deviation from the port, on event-id uniqueness (`DuplicateEventId`): KurrentDB does not keep
event ids unique across the store, and its documented API has no lookup by event id. What the
server does with a reused id:

* appending events whose ids are already the last ones recorded in the *same* stream, at the
  expected version they were first appended at (or with `StreamState.ANY`), is an idempotent
  no-op: the call succeeds and returns the first append's commit position, writing nothing.
  The adapter then reports the version those events are at, so a retried append succeeds
  rather than raising `ConcurrencyConflict` (SQLite/PostgreSQL would refuse it);
* appending an already-recorded id to a *different* stream (or to the same stream at its
  current version) just records a second event with that id.

So this adapter raises `DuplicateEventId` only for ids repeated within one `append` call; a
reuse across appends is not detected. Detecting it would need a second, atomic write per event
(e.g. a guard stream per id through `multi_append_to_stream`, which needs KurrentDB >= 25.1 and
restricts metadata to flat JSON objects), which this adapter deliberately does not do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from uuid import UUID

from kurrentdbclient import (
    DEFAULT_EXCLUDE_FILTER,
    AsyncKurrentDBClient,
    ContentType,
    StreamState,
)
from kurrentdbclient import NewEvent as KurrentNewEvent
from kurrentdbclient import RecordedEvent as KurrentRecordedEvent
from kurrentdbclient.exceptions import (
    AbortedByServerError,
    NotFoundError,
    ServiceUnavailableError,
    WrongCurrentVersionError,
)

from customerhub_shared.eventstore.port import (
    AppendResult,
    ConcurrencyConflict,
    DuplicateEventId,
    EventStore,
    EventStoreError,
    NewEvent,
    RecordedEvent,
)

# Server-side filter on event types: KurrentDB's system events (`$...`), persistent-subscription
# config events and projection results. Passed explicitly so it cannot silently change with the
# client's default.
SYSTEM_EVENT_TYPE_FILTER: tuple[str, ...] = tuple(DEFAULT_EXCLUDE_FILTER)

CONTENT_TYPE: ContentType = "application/json"

# A live subscription that the server drops (restart, "consumer too slow") is resumed from the
# last event it delivered; this many drops in a row without an event in between give up.
_MAX_RESUBSCRIBES = 5
_RESUBSCRIBE_DELAY = 0.5


def current_version_for(expected_version: int | None) -> int | StreamState:
    """The client's `current_version` for the port's `expected_version` (events counted)."""
    if expected_version is None:
        return StreamState.ANY
    if expected_version < 0:
        raise ValueError(f"expected_version must be >= 0 or None, not {expected_version}")
    if expected_version == 0:
        return StreamState.NO_STREAM
    return expected_version - 1


def version_from_current(current: int | StreamState | None) -> int | None:
    """The port's version for a KurrentDB "current version" (last revision or a StreamState).

    None when the value does not say (ANY, EXISTS, or missing): the caller must read the stream.
    """
    if current is StreamState.NO_STREAM:
        return 0
    if isinstance(current, int) and current >= 0:
        return current + 1
    return None


def to_kurrent_event(event: NewEvent) -> KurrentNewEvent:
    return KurrentNewEvent(
        id=event.id,
        type=event.type,
        data=event.data,
        metadata=event.metadata,
        content_type=CONTENT_TYPE,
    )


def is_system_event(event: KurrentRecordedEvent) -> bool:
    """True for what is not one of our events: KurrentDB's own events, `$` streams, and the
    checkpoint / caught-up / fell-behind markers a subscription can yield."""
    return (
        event.is_checkpoint
        or event.is_caught_up
        or event.is_fell_behind
        or event.type.startswith("$")
        or event.stream_name.startswith("$")
    )


def to_recorded_event(event: KurrentRecordedEvent, *, now: datetime | None = None) -> RecordedEvent:
    recorded_at = event.recorded_at or now or datetime.now(UTC)
    return RecordedEvent(
        id=event.id,
        stream=event.stream_name,
        revision=event.stream_position,
        position=event.commit_position,
        type=event.type,
        data=event.data,
        metadata=event.metadata,
        recorded_at=recorded_at,
    )


def ensure_distinct_ids(events: Sequence[NewEvent]) -> None:
    """Raise DuplicateEventId if one append carries the same event id twice."""
    seen: set[UUID] = set()
    for event in events:
        if event.id in seen:
            raise DuplicateEventId(f"event id {event.id} appears twice in one append")
        seen.add(event.id)


class KurrentDBEventStore(EventStore):
    def __init__(self, client: AsyncKurrentDBClient) -> None:
        self._client = client
        self._closed = False

    @classmethod
    async def open(cls, uri: str) -> KurrentDBEventStore:
        """Connect with a KurrentDB connection string, e.g. `kurrentdb://127.0.0.1:2113?tls=false`."""
        client = AsyncKurrentDBClient(uri=uri)
        await client.connect()
        return cls(client)

    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        ensure_distinct_ids(events)
        try:
            position = await self._client.append_to_stream(
                stream_name=stream,
                events=[to_kurrent_event(event) for event in events],
                current_version=current_version_for(expected_version),
            )
        except WrongCurrentVersionError as error:
            actual = version_from_current(error.actual_version)
            if actual is None:
                actual = await self.stream_version(stream)
            raise ConcurrencyConflict(stream, expected_version, actual) from error
        if expected_version is None:
            version = await self._version_after(stream, events[-1].id)
        else:
            version = expected_version + len(events)
        return AppendResult(version=version, position=position)

    async def _version_after(self, stream: str, last_id: UUID) -> int:
        # A blind append does not learn its revisions; find its last event from the stream's end
        # (other writers may have appended after it, so the end itself is not the answer).
        async with await self._client.read_stream(stream_name=stream, backwards=True) as recorded:
            async for event in recorded:
                if event.id == last_id:
                    return event.stream_position + 1
        return await self.stream_version(stream)  # pragma: no cover - only if it was deleted

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        if from_version < 0:
            raise ValueError(f"from_version must be >= 0, not {from_version}")
        try:
            recorded = await self._client.get_stream(
                stream_name=stream, stream_position=from_version
            )
        except NotFoundError:
            return []
        now = datetime.now(UTC)
        return [to_recorded_event(event, now=now) for event in recorded]

    async def stream_version(self, stream: str) -> int:
        current = await self._client.get_current_version(stream_name=stream)
        version = version_from_current(current)
        assert version is not None, current
        return version

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        # A forward read from a commit position includes the event at that position, and the
        # server applies `limit` after its type filter but before ours on `$` streams: so ask for
        # one more than needed, drop what is not past the cursor, and read on while ours came up
        # short of a full batch.
        if limit <= 0:
            return []
        now = datetime.now(UTC)
        result: list[RecordedEvent] = []
        cursor = after
        while len(result) < limit:
            count = limit - len(result) + (0 if cursor is None else 1)
            async with await self._client.read_all(
                commit_position=cursor, limit=count, filter_exclude=SYSTEM_EVENT_TYPE_FILTER
            ) as response:
                batch = [event async for event in response]
            for event in batch:
                if cursor is not None and event.commit_position <= cursor:
                    continue
                if not is_system_event(event):
                    result.append(to_recorded_event(event, now=now))
            if len(batch) < count:
                break
            cursor = batch[-1].commit_position
        return result[:limit]

    async def head_position(self) -> int | None:
        async with await self._client.read_all(
            backwards=True, filter_exclude=SYSTEM_EVENT_TYPE_FILTER
        ) as response:
            async for event in response:
                if not is_system_event(event):
                    return event.commit_position
        return None

    async def subscribe(self, *, after: int | None = None) -> AsyncIterator[RecordedEvent]:
        # subscribe_to_all(commit_position=p) delivers only events after p; the position check
        # below is belt and braces. Checkpoint / caught-up markers are not requested (the
        # client drops them), and is_system_event would skip them anyway.
        checkpoint = after
        drops = 0
        while True:
            try:
                subscription = await self._client.subscribe_to_all(
                    commit_position=checkpoint, filter_exclude=SYSTEM_EVENT_TYPE_FILTER
                )
                async with subscription:
                    async for event in subscription:
                        if checkpoint is not None and event.commit_position <= checkpoint:
                            continue
                        if is_system_event(event):
                            continue
                        checkpoint = event.commit_position
                        drops = 0
                        yield to_recorded_event(event)
            except (ServiceUnavailableError, AbortedByServerError):
                if drops >= _MAX_RESUBSCRIBES:
                    raise
            else:
                if drops >= _MAX_RESUBSCRIBES:
                    raise EventStoreError("the $all subscription keeps ending without events")
            # Dropped by the server (restart, consumer too slow) or ended: resume after the last
            # event delivered, so nothing is skipped or repeated.
            drops += 1
            await asyncio.sleep(_RESUBSCRIBE_DELAY * drops)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.close()
