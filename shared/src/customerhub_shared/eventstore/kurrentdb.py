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

Chain hashes (eventstore/chain.py): KurrentDB has no column to add, so the hash travels in the
stored metadata, framed byte for byte around ours: `{"chain_hash":"<hex>","metadata":<ours>}`
(still JSON, as our metadata is). The hash covers our metadata bytes, which reading returns
unframed. Each append reads the stream's previous event first and appends at that event's
revision, so the server refuses the append if another writer came in between; a blind append
(`expected_version=None`) takes the current revision and retries on a conflict. A blind
retry of an append that did land therefore records its events again, where before the hash
chain the server treated it as a no-op; no caller appends blindly.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from customerhub_shared.eventstore.chain import GENESIS, chained_hashes, head_of
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

_CHAIN_PREFIX = b'{"chain_hash":"'
_CHAIN_SEPARATOR = b'","metadata":'
_CHAIN_HEX = 64


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


def framed_metadata(metadata: bytes, chain_hash: str) -> bytes:
    """Our metadata with the event's chain hash around it, as KurrentDB stores it."""
    return _CHAIN_PREFIX + chain_hash.encode() + _CHAIN_SEPARATOR + metadata + b"}"


def unframed_metadata(stored: bytes) -> tuple[bytes, str | None]:
    """Our metadata and the chain hash out of stored metadata; no hash if it has no frame."""
    start = len(_CHAIN_PREFIX) + _CHAIN_HEX
    body = start + len(_CHAIN_SEPARATOR)
    if (
        not stored.startswith(_CHAIN_PREFIX)
        or stored[start:body] != _CHAIN_SEPARATOR
        or not stored.endswith(b"}")
    ):
        return stored, None
    return stored[body:-1], stored[len(_CHAIN_PREFIX) : start].decode()


def to_kurrent_event(event: NewEvent, chain_hash: str | None = None) -> KurrentNewEvent:
    metadata = event.metadata if chain_hash is None else framed_metadata(event.metadata, chain_hash)
    return KurrentNewEvent(
        id=event.id,
        type=event.type,
        data=event.data,
        metadata=metadata,
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
    metadata, chain_hash = unframed_metadata(event.metadata)
    return RecordedEvent(
        id=event.id,
        stream=event.stream_name,
        revision=event.stream_position,
        position=event.commit_position,
        type=event.type,
        data=event.data,
        metadata=metadata,
        recorded_at=recorded_at,
        hash=chain_hash,
    )


def ensure_distinct_ids(events: Sequence[NewEvent]) -> None:
    """Raise DuplicateEventId if one append carries the same event id twice."""
    seen: set[UUID] = set()
    for event in events:
        if event.id in seen:
            raise DuplicateEventId(f"event id {event.id} appears twice in one append")
        seen.add(event.id)


class KurrentDBEventStore(EventStore):
    dense_positions = False  # commit positions grow with the bytes written

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
        if expected_version is not None:
            return await self._append_at(stream, events, expected_version)
        while True:
            # Each conflict means another writer landed in between: chain on its events.
            with contextlib.suppress(ConcurrencyConflict):
                return await self._append_at(stream, events, await self.stream_version(stream))

    async def _append_at(
        self, stream: str, events: Sequence[NewEvent], version: int
    ) -> AppendResult:
        hashes = chained_hashes(await self._previous_hash(stream, version), stream, version, events)
        try:
            position = await self._client.append_to_stream(
                stream_name=stream,
                events=[to_kurrent_event(e, h) for e, h in zip(events, hashes, strict=True)],
                current_version=current_version_for(version),
            )
        except WrongCurrentVersionError as error:
            actual = version_from_current(error.actual_version)
            if actual is None:
                actual = await self.stream_version(stream)
            raise ConcurrencyConflict(stream, version, actual) from error
        return AppendResult(version=version + len(events), position=position)

    async def _previous_hash(self, stream: str, version: int) -> str:
        """The hash the event at `version` chains on (GENESIS when the stream is shorter: the
        append then fails on its expected version anyway)."""
        if version == 0:
            return GENESIS
        before = await self.read_stream(stream, from_version=version - 1, limit=1)
        if before and before[0].hash is not None:
            return before[0].hash
        return head_of(await self.read_stream(stream, limit=version))

    async def read_stream(
        self, stream: str, *, from_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        if from_version < 0:
            raise ValueError(f"from_version must be >= 0, not {from_version}")
        try:
            recorded = await self._client.get_stream(
                stream_name=stream, stream_position=from_version, limit=limit or 2**63 - 1
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
