"""The PostgreSQL event store: one `events` table, shared by any number of processes.

Positions come from a single-row `log_head` counter bumped (`UPDATE ... RETURNING`) first thing
in every append transaction; its row lock serialises appends until commit, so positions commit
in order and a reader of `read_all(after=p)` can never later find a late-committing position <= p
(the gap a plain sequence would leave). Followers wake on LISTEN/NOTIFY, with polling as fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg import errors
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

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
from customerhub_shared.eventstore.subscription import follow_log

log = logging.getLogger(__name__)

CHANNEL = "customerhub_events"

# Any constant will do: it only keeps two processes from creating the schema at once.
_SCHEMA_LOCK = 0x6375_7374_6875_62

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    bigint      NOT NULL PRIMARY KEY,
    stream      text        NOT NULL,
    revision    integer     NOT NULL,
    event_id    uuid        NOT NULL,
    type        text        NOT NULL,
    data        bytea       NOT NULL,
    metadata    bytea       NOT NULL,
    recorded_at timestamptz NOT NULL,
    hash        text,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_revision_key UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS log_head (
    only_row boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint  NOT NULL
);
INSERT INTO log_head (only_row, position)
    SELECT true, COALESCE(MAX(position), 0) FROM events
    ON CONFLICT (only_row) DO NOTHING;
"""

# Tables made before events carried chain hashes gain the column (NULL for their rows). Checked
# first: ALTER TABLE takes an exclusive lock even when the column exists.
_HAS_HASH = (
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = 'events' AND column_name = 'hash'"
)
_ADD_HASH = "ALTER TABLE events ADD COLUMN IF NOT EXISTS hash text"

_COLUMNS = "event_id, stream, revision, position, type, data, metadata, recorded_at, hash"

_VERSION = "SELECT COALESCE(MAX(revision) + 1, 0) FROM events WHERE stream = %s"

_INSERT = (
    "INSERT INTO events"
    " (position, stream, revision, event_id, type, data, metadata, recorded_at, hash)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, clock_timestamp(), %s)"
)

Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


def _row_to_event(row: TupleRow) -> RecordedEvent:
    return RecordedEvent(
        id=row[0],
        stream=row[1],
        revision=row[2],
        position=row[3],
        type=row[4],
        data=bytes(row[5]),
        metadata=bytes(row[6]),
        recorded_at=row[7],
        hash=row[8],
    )


class PostgresEventStore(EventStore):
    def __init__(self, dsn: str, pool: Pool, *, poll_interval: float = 0.2) -> None:
        self._dsn = dsn
        self._pool = pool
        self._poll_interval = poll_interval
        self._wakeups = 0
        self._woken = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls, dsn: str, *, poll_interval: float = 0.2, max_connections: int = 10
    ) -> PostgresEventStore:
        # CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin: take a lock first.
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            await conn.execute(_SCHEMA)
            if await (await conn.execute(_HAS_HASH)).fetchone() is None:
                await conn.execute(_ADD_HASH)
        pool: Pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            open=False,
            name="customerhub-eventstore",
        )
        await pool.open(wait=True, timeout=30)
        return cls(dsn, pool, poll_interval=poll_interval)

    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        try:
            async with self._pool.connection() as conn, conn.transaction():
                # Taking the head row's lock first serialises appends: the version read below
                # is current, and our positions commit before anyone else's later ones.
                head = await (
                    await conn.execute(
                        "UPDATE log_head SET position = position + %s RETURNING position",
                        (len(events),),
                    )
                ).fetchone()
                if head is None:
                    raise EventStoreError("log_head has no row: the schema is damaged")
                last = int(head[0])
                first = last - len(events) + 1
                version = await _version(conn, stream)
                if expected_version is not None and expected_version != version:
                    raise ConcurrencyConflict(stream, expected_version, version)
                previous = await _previous_hash(conn, stream, version)
                hashes = chained_hashes(previous, stream, version, events)
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        _INSERT,
                        [
                            (
                                first + offset,
                                stream,
                                version + offset,
                                event.id,
                                event.type,
                                event.data,
                                event.metadata,
                                hashes[offset],
                            )
                            for offset, event in enumerate(events)
                        ],
                    )
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(last)))
        except errors.UniqueViolation as error:
            if error.diag.constraint_name == "events_event_id_key":
                raise DuplicateEventId(str(error)) from error
            raise ConcurrencyConflict(
                stream, expected_version, await self.stream_version(stream)
            ) from error
        self._wake()
        return AppendResult(version=version + len(events), position=last)

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE stream = %s AND revision >= %s ORDER BY revision"
        )
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(sql, (stream, from_version))).fetchall()
        return [_row_to_event(row) for row in rows]

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        sql = f"SELECT {_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s"
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(sql, (after or 0, limit))).fetchall()
        return [_row_to_event(row) for row in rows]

    async def head_position(self) -> int | None:
        async with self._pool.connection() as conn:
            row = await (await conn.execute("SELECT MAX(position) FROM events")).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def stream_version(self, stream: str) -> int:
        async with self._pool.connection() as conn:
            return await _version(conn, stream)

    def subscribe(self, *, after: int | None = None) -> AsyncIterator[RecordedEvent]:
        # Each follower remembers the wake-up count as of its last read, so a NOTIFY that
        # arrives while it is reading is not lost: it reads again at once instead of waiting.
        seen = self._wakeups

        async def read_all(*, after: int | None, limit: int) -> list[RecordedEvent]:
            nonlocal seen
            self._ensure_listener()
            seen = self._wakeups
            return await self.read_all(after=after, limit=limit)

        async def wait_for_more() -> None:
            if self._wakeups != seen:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._poll_interval)

        return follow_log(read_all, wait_for_more, after=after)

    def _wake(self) -> None:
        self._wakeups += 1
        self._woken.set()
        self._woken = asyncio.Event()

    def _ensure_listener(self) -> None:
        if self._listener is None and not self._closed:
            self._listener = asyncio.create_task(self._listen(), name="eventstore-listen")

    async def _listen(self) -> None:
        """Turn NOTIFYs from any process into wake-ups; reconnect if the connection drops."""
        while not self._closed:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._wake()  # whatever was appended while we were not listening
                    async for _ in conn.notifies():
                        self._wake()
            except Exception as error:  # any failure: poll meanwhile, then retry
                log.warning("event-store listener lost its connection, polling: %s", error)
            await asyncio.sleep(max(self._poll_interval, 1.0))

    async def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._pool.close()


async def _previous_hash(conn: psycopg.AsyncConnection[Any], stream: str, version: int) -> str:
    """The hash the stream's next event chains on, read in the append's transaction."""
    if version == 0:
        return GENESIS
    sql = "SELECT hash FROM events WHERE stream = %s AND revision = %s"
    row = await (await conn.execute(sql, (stream, version - 1))).fetchone()
    if row is not None and row[0] is not None:
        return str(row[0])
    sql = f"SELECT {_COLUMNS} FROM events WHERE stream = %s ORDER BY revision"
    rows = await (await conn.execute(sql, (stream,))).fetchall()
    return head_of(_row_to_event(row) for row in rows)


async def _version(conn: psycopg.AsyncConnection[Any], stream: str) -> int:
    row = await (await conn.execute(_VERSION, (stream,))).fetchone()
    return 0 if row is None else int(row[0])
