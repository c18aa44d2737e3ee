"""The PostgreSQL event store: one `events` table, shared by any number of processes.

Positions come from a sequence, taken inside each append's INSERT, so appends to different
streams run in parallel and may commit out of position order. Readers therefore read only up
to a horizon (see `horizon.py`): the last position handed out, once every transaction that was
inserting when it was seen has ended. A late commit of a lower position is never skipped, and
a rolled-back position is a gap that holds nobody up. Followers wake on LISTEN/NOTIFY, with
polling as fallback.
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
from customerhub_shared.eventstore.heads import KnownHeads
from customerhub_shared.eventstore.horizon import Horizon, Sighting
from customerhub_shared.eventstore.port import (
    AppendResult,
    ConcurrencyConflict,
    DuplicateEventId,
    EventStore,
    EventStoreError,
    NewEvent,
    RecordedEvent,
)
from customerhub_shared.eventstore.postgres_wakeups import Wakeups
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
"""

# CACHE 1: a value cached by one backend could be handed out after a reader's sighting.
_CREATE_SEQUENCE = (
    "CREATE SEQUENCE events_position_seq AS bigint MINVALUE 0 CACHE 1 OWNED BY events.position"
)

_LAST_ALLOCATED = "SELECT pg_sequence_last_value('events_position_seq'::regclass)"

# An INSERT locks the table (RowExclusiveLock) before it evaluates nextval(), and keeps the
# lock until its transaction has ended and become visible: whoever took a position already
# seen is either listed here or done.
_APPENDING = """
SELECT virtualtransaction FROM pg_locks
 WHERE locktype = 'relation' AND mode = 'RowExclusiveLock'
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND relation = 'events'::regclass
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

# One statement, so one transaction; its nextval() calls run in row order.
# Positions are taken here only, inside an INSERT into events, for readers' sake (_APPENDING).
# It appends only if the stream's event just before the first new revision exists, and the
# unique (stream, revision) key refuses it if the first new revision is already taken: together
# the expected-version check, without reading the version first.
_APPEND = (
    "WITH appended AS (INSERT INTO events"
    " (position, stream, revision, event_id, type, data, metadata, hash, recorded_at)"
    " SELECT nextval('events_position_seq'), e.*, clock_timestamp()"
    " FROM (VALUES {rows}) AS e (stream, revision, event_id, type, data, metadata, hash)"
    " WHERE %(previous)s < 0 OR EXISTS"
    " (SELECT FROM events WHERE stream = %(stream)s AND revision = %(previous)s)"
    " RETURNING position)"
    " SELECT last FROM (SELECT MAX(position) AS last FROM appended) AS a WHERE last IS NOT NULL"
)
_ROW = (
    "(%(stream)s, %(r{n})s::integer, %(i{n})s::uuid, %(t{n})s, %(d{n})s::bytea,"
    " %(m{n})s::bytea, %(h{n})s::text)"
)

# Blind appends (expected_version=None) that lose a race for a revision try again, this often.
_BLIND_ATTEMPTS = 50

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
        self._horizon = Horizon()
        self._sighting = asyncio.Lock()
        self._heads = KnownHeads()
        self._announcements = Wakeups(self._notify)

    @classmethod
    async def open(
        cls, dsn: str, *, poll_interval: float = 0.2, max_connections: int = 10
    ) -> PostgresEventStore:
        # CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin: take a lock first.
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            await conn.execute(_SCHEMA)
            await _prepare_positions(conn)
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
        # A blind append that lost a revision to a concurrent one reads the version again.
        attempts = _BLIND_ATTEMPTS if expected_version is None else 1
        for attempt in range(1, attempts + 1):
            try:
                result, head_hash = await self._record(stream, events, expected_version)
            except errors.UniqueViolation as error:
                if error.diag.constraint_name == "events_event_id_key":
                    raise DuplicateEventId(str(error)) from error
                if error.diag.constraint_name == "events_pkey":
                    raise EventStoreError(f"a position was handed out twice: {error}") from error
                if attempt < attempts:
                    continue
                raise ConcurrencyConflict(
                    stream, expected_version, await self.stream_version(stream)
                ) from error
            self._heads.remember(stream, result.version - 1, head_hash)
            self._announcements.announce(result.position)
            self._wake()
            return result
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _record(
        self, stream: str, events: Sequence[NewEvent], expected_version: int | None
    ) -> tuple[AppendResult, str]:
        """The append's result and the hash of its last event."""
        async with self._pool.connection() as conn:
            # Only a blind append reads the version; the insert checks an expected one.
            if expected_version is None:
                version = await _version(conn, stream)
            else:
                version = expected_version
            previous = self._heads.hash_at(stream, version - 1)
            if previous is None:
                previous = await _previous_hash(conn, stream, version)
            hashes = chained_hashes(previous, stream, version, events)
            rows = ", ".join(_ROW.format(n=n) for n in range(len(events)))
            params: dict[str, object] = {
                "stream": stream,
                "previous": version - 1,
            }
            for n, event in enumerate(events):
                params |= {
                    f"r{n}": version + n,
                    f"i{n}": event.id,
                    f"t{n}": event.type,
                    f"d{n}": event.data,
                    f"m{n}": event.metadata,
                    f"h{n}": hashes[n],
                }
            appended = await (await conn.execute(_APPEND.format(rows=rows), params)).fetchone()
            if appended is None:
                raise ConcurrencyConflict(stream, expected_version, await _version(conn, stream))
        result = AppendResult(version=version + len(events), position=int(appended[0]))
        return result, hashes[-1]

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE stream = %s AND revision >= %s ORDER BY revision"
        )
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(sql, (stream, from_version))).fetchall()
        events = [_row_to_event(row) for row in rows]
        if events:
            self._heads.remember(stream, events[-1].revision, events[-1].hash)
        return events

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE position > %s AND position <= %s"
            " ORDER BY position LIMIT %s"
        )
        async with self._pool.connection() as conn:
            horizon = await self._visible_horizon(conn)
            rows = await (await conn.execute(sql, (after or 0, horizon, limit))).fetchall()
        return [_row_to_event(row) for row in rows]

    async def head_position(self) -> int | None:
        """The newest event below the horizon: a later-committing lower position is still to
        come, so a reader starting from here misses nothing."""
        async with self._pool.connection() as conn:
            horizon = await self._visible_horizon(conn)
            sql = "SELECT MAX(position) FROM events WHERE position <= %s"
            row = await (await conn.execute(sql, (horizon,))).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def _visible_horizon(self, conn: psycopg.AsyncConnection[Any]) -> int:
        # One sighting at a time: each must be newer than those the horizon already holds.
        async with self._sighting:
            return self._horizon.advance(await _sight(conn))

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

    async def appended(self, timeout: float) -> None:
        self._ensure_listener()  # NOTIFYs from every process wake it
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout)

    async def _notify(self, position: int) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(position)))

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
        await self._announcements.close()
        await self._pool.close()


async def _prepare_positions(conn: psycopg.AsyncConnection[Any]) -> None:
    """Positions come from the sequence, which starts after every position recorded so far."""
    sequence = await _exists(conn, "events_position_seq")
    # Stores before this one counted positions in a one-row `log_head` that every append
    # locked first; an old writer recreates it if it starts after us. Locking it waits out
    # such appends still in flight, and dropping it makes an old writer fail loudly instead
    # of reusing positions. Lock order as theirs: log_head, then events.
    legacy = await _exists(conn, "log_head")
    if sequence and not legacy:
        return
    head_sql = "SELECT COALESCE(MAX(position), 0) FROM events"
    if legacy:
        await conn.execute("LOCK TABLE log_head IN ACCESS EXCLUSIVE MODE")
        head_sql = f"SELECT GREATEST(({head_sql}), (SELECT MAX(position) FROM log_head))"
    # No position is taken meanwhile: an INSERT locks the table before it takes one.
    await conn.execute("LOCK TABLE events IN SHARE MODE")
    if sequence:
        head_sql = f"SELECT GREATEST(({head_sql}), (SELECT last_value FROM events_position_seq))"
    else:
        await conn.execute(_CREATE_SEQUENCE)
    row = await (await conn.execute(head_sql)).fetchone()
    head = 0 if row is None else int(row[0])
    await conn.execute("SELECT setval('events_position_seq', %s, true)", (head,))
    await conn.execute("DROP TABLE IF EXISTS log_head")


async def _exists(conn: psycopg.AsyncConnection[Any], relation: str) -> bool:
    row = await (await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,))).fetchone()
    return row is not None and bool(row[0])


async def _sight(conn: psycopg.AsyncConnection[Any]) -> Sighting:
    # The order matters: the last position handed out first, then who is inserting.
    row = await (await conn.execute(_LAST_ALLOCATED)).fetchone()
    if row is None or row[0] is None:
        raise EventStoreError("cannot read events_position_seq: the schema is damaged")
    appending = await (await conn.execute(_APPENDING)).fetchall()
    return Sighting(allocated=int(row[0]), appending=frozenset(str(r[0]) for r in appending))


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
