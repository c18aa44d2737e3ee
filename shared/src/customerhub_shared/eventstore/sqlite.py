"""The SQLite event store: the embedded default (one file, WAL, one writer at a time).

Every append runs in a `BEGIN IMMEDIATE` transaction, so the version check and the insert
are one step even across processes; the log position is SQLite's rowid, which only grows:
rows are never deleted, so the next rowid is always above every position ever handed out
(files made before this kept AUTOINCREMENT, which costs one more page written per commit).
Appends waiting together share that transaction and its fsync (group commit), each in its own
savepoint: one append's conflict never fails another's. A task appending alone, back to back
(an import, a script), commits in its own thread instead (sqlite_group_commit.py).

Each append writes three b-tree pages: the row (its position is the rowid), the unique
(stream, revision) key and the unique event id, which the port keeps unique across the store.

The events this process appended last are kept (as stored: sealed data stays sealed), so that
the followers in this process read them from memory (`read_following`), from the position
after theirs on for as long as the kept events run on without a gap.

An append that expects a version whose head this process knows (a new stream, or one it has
just appended to or read) chains on that head without reading it back: the unique
(stream, revision) key still refuses the append if another writer got there first.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from uuid import UUID

from customerhub_shared.eventstore.chain import GENESIS, chained_hashes, head_of
from customerhub_shared.eventstore.heads import KnownHeads
from customerhub_shared.eventstore.port import (
    AppendResult,
    ConcurrencyConflict,
    DuplicateEventId,
    EventStore,
    NewEvent,
    RecordedEvent,
    StreamRangeReader,
)
from customerhub_shared.eventstore.subscription import follow_log
from customerhub_shared.sqlite_files import connect
from customerhub_shared.sqlite_group_commit import GroupCommit
from customerhub_shared.sqlite_threads import SQLiteThreads

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at TEXT    NOT NULL,
    hash        TEXT,
    UNIQUE (stream, revision)
);
"""

# Of a new file: an append writes a page of each of its three b-trees, and a commit's fsync
# then carries half the bytes it would with SQLite's default of 4096.
_PAGE_SIZE = 2048

_INSERT = (
    "INSERT INTO events (stream, revision, event_id, type, data, metadata, recorded_at, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# How many of the events this process appended last are kept for its followers.
RECENT_KEPT = 2048
_COLUMNS = "event_id, stream, revision, position, type, data, metadata, recorded_at, hash"


def _row_to_event(row: sqlite3.Row) -> RecordedEvent:
    return RecordedEvent(
        id=UUID(row[0]),
        stream=row[1],
        revision=row[2],
        position=row[3],
        type=row[4],
        data=bytes(row[5]),
        metadata=bytes(row[6]),
        recorded_at=datetime.fromisoformat(row[7]),
        hash=row[8],
    )


class SQLiteEventStore(EventStore):
    def __init__(self, path: Path | str, *, poll_interval: float = 0.2) -> None:
        self._path = path
        self._db = SQLiteThreads(path, name="events", page_size=_PAGE_SIZE)
        self._appends = GroupCommit(
            lambda: connect(path, synchronous="FULL", page_size=_PAGE_SIZE),
            name="events",
            lone_writes_here=True,
        )
        self._poll_interval = poll_interval
        self._appended = asyncio.Event()
        self._heads = KnownHeads()  # committed heads only: a rolled-back append never lands here
        self._recent: dict[int, RecordedEvent] = {}  # by position, committed appends only

    @classmethod
    async def open(cls, path: Path | str, *, poll_interval: float = 0.2) -> SQLiteEventStore:
        store = cls(path, poll_interval=poll_interval)
        await store._db.write(_create_schema)
        return store

    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        previous = self._known_previous(stream, expected_version)

        def append(db: sqlite3.Connection) -> tuple[AppendResult, str, list[RecordedEvent]]:
            recorded: list[RecordedEvent] = []  # afresh if group commit runs this again
            result, head = append_in_transaction(
                db, stream, events, expected_version, previous, recorded=recorded
            )
            return result, head, recorded

        result, head, recorded = await self._appends.write(append)
        self._heads.remember(stream, result.version - 1, head)
        self._keep(recorded)
        self._appended.set()
        self._appended = asyncio.Event()
        return result

    def _keep(self, recorded: list[RecordedEvent]) -> None:
        recent = self._recent
        for event in recorded:
            recent[event.position] = event
        while len(recent) > RECENT_KEPT:
            del recent[next(iter(recent))]

    def _known_previous(self, stream: str, expected_version: int | None) -> str | None:
        """The hash an append at `expected_version` chains on, if known without reading."""
        if expected_version is None:
            return None
        if expected_version == 0:
            return GENESIS
        return self._heads.hash_at(stream, expected_version - 1)

    async def read_stream(self, stream: str, *, from_version: int = 0) -> list[RecordedEvent]:
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision"
        rows = await self._db.read(lambda db: db.execute(sql, (stream, from_version)).fetchall())
        events = [_row_to_event(row) for row in rows]
        if events:
            self._heads.remember(stream, events[-1].revision, events[-1].hash)
        return events

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        sql = f"SELECT {_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        rows = await self._db.read(lambda db: db.execute(sql, (after or 0, limit)).fetchall())
        return [_row_to_event(row) for row in rows]

    async def read_following(self, *, after: int | None, limit: int) -> list[RecordedEvent]:
        """From the events this process appended last while they follow `after` without a
        gap (another process's event, or one of ours not yet kept), else from the file."""
        position = (after or 0) + 1
        event = self._recent.get(position)
        if event is None:
            return await self.read_all(after=after, limit=limit)
        batch: list[RecordedEvent] = []
        while event is not None and len(batch) < limit:
            batch.append(event)
            position += 1
            event = self._recent.get(position)
        return batch

    reads_in_stream_order = True

    async def read_in_stream_order(
        self, *, prefix: str, after: tuple[str, int] | None, until: int, limit: int
    ) -> list[RecordedEvent]:
        # The (stream, revision) index walked in order: one range, no sort.
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE (stream, revision) > (?, ?) AND stream < ?"
            " AND position <= ? ORDER BY stream, revision LIMIT ?"
        )
        stream, revision = after or (prefix, -1)
        params = (stream, revision, _prefix_end(prefix), until, limit)
        rows = await self._db.read(lambda db: db.execute(sql, params).fetchall())
        return [_row_to_event(row) for row in rows]

    async def stream_sizes(
        self, *, prefix: str, after: str | None, until: int, limit: int
    ) -> list[tuple[str, int]]:
        # The (stream, revision) index holds the position (the rowid): no row is read. One
        # lower bound, so the index range starts there (with two, it starts at the prefix).
        sql = (
            f"SELECT stream, count(*) FROM events WHERE stream {'>=' if after is None else '>'} ?"
            " AND stream < ? AND position <= ? GROUP BY stream ORDER BY stream LIMIT ?"
        )
        params = (prefix if after is None else after, _prefix_end(prefix), until, limit)
        rows = await self._db.read(lambda db: db.execute(sql, params).fetchall())
        return [(str(stream), int(count)) for stream, count in rows]

    def stream_range_opener(self) -> Callable[[], StreamRangeReader]:
        return partial(_open_stream_ranges, self._path)

    async def head_position(self) -> int | None:
        row = await self._db.read(
            lambda db: db.execute("SELECT MAX(position) FROM events").fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    async def stream_version(self, stream: str) -> int:
        return await self._db.read(lambda db: _version(db, stream))

    def subscribe(self, *, after: int | None = None) -> AsyncIterator[RecordedEvent]:
        return follow_log(self.read_all, self._wait_for_append, after=after)

    async def appended(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._appended.wait(), timeout)

    async def _wait_for_append(self) -> None:
        # Appends from this process wake followers at once; other processes' appends are
        # seen at the next poll.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._appended.wait(), self._poll_interval)

    async def close(self) -> None:
        await asyncio.to_thread(self._appends.close)
        self._db.close()


def _open_stream_ranges(path: Path | str) -> StreamRangeReader:
    """A reader of stream ranges over a connection of its own, opened here (in the process
    that reads), read-only."""
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA query_only = ON")
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE stream >= ? AND stream <= ? AND position <= ?"
        " ORDER BY stream, revision"
    )

    def read(first: str, last: str, until: int) -> list[RecordedEvent]:
        return [_row_to_event(row) for row in db.execute(sql, (first, last, until))]

    return read


def _prefix_end(prefix: str) -> str:
    """The first string above every one that starts with `prefix` (non-empty)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _create_schema(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    if "hash" not in columns:  # a file written before events carried hashes
        db.execute("ALTER TABLE events ADD COLUMN hash TEXT")


def _head(db: sqlite3.Connection, stream: str) -> tuple[int, str]:
    """The stream's version and the hash its next event chains on."""
    row = db.execute(
        "SELECT revision, hash FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1",
        (stream,),
    ).fetchone()
    if row is None:
        return 0, GENESIS
    if row[1] is not None:
        return int(row[0]) + 1, str(row[1])
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM events WHERE stream = ? ORDER BY revision", (stream,)
    ).fetchall()
    return int(row[0]) + 1, head_of(_row_to_event(row) for row in rows)


def _version(db: sqlite3.Connection, stream: str) -> int:
    row = db.execute("SELECT MAX(revision) FROM events WHERE stream = ?", (stream,)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def append_in_transaction(
    db: sqlite3.Connection,
    stream: str,
    events: Sequence[NewEvent],
    expected: int | None,
    previous: str | None = None,
    *,
    recorded: list[RecordedEvent] | None = None,
) -> tuple[AppendResult, str]:
    """An append inside the caller's open transaction (group commit undoes it if this raises),
    and the hash of its last event; `previous`, the hash the event at `expected` chains on when
    the caller knows it, spares reading the stream's head; `recorded` receives the events as
    a read would return them. Public for the append bench, which times it without the writer
    thread."""
    if previous is None or expected is None:
        version, previous = _head(db, stream)
        if expected is not None and expected != version:
            raise ConcurrencyConflict(stream, expected, version)
    else:
        version = expected
    recorded_at = datetime.now(UTC)
    now = recorded_at.isoformat()
    hashes = chained_hashes(previous, stream, version, events)
    rows = [
        (stream, version + n, str(event.id), event.type, event.data, event.metadata, now, hashes[n])
        for n, event in enumerate(events)
    ]
    position = 0
    try:
        for n, row in enumerate(rows):
            position = int(db.execute(_INSERT, row).lastrowid or 0)
            if recorded is not None:
                recorded.append(
                    _recorded(events[n], stream, version + n, position, recorded_at, hashes[n])
                )
    except sqlite3.IntegrityError as error:
        if "event_id" in str(error):
            raise DuplicateEventId(str(error)) from error
        raise ConcurrencyConflict(stream, expected, _version(db, stream)) from error
    return AppendResult(version=version + len(events), position=position), hashes[-1]


def _recorded(
    event: NewEvent,
    stream: str,
    revision: int,
    position: int,
    recorded_at: datetime,
    event_hash: str,
) -> RecordedEvent:
    """The event as `read_all` will return it, made from what was just inserted (no parse)."""
    return RecordedEvent(
        id=event.id,
        stream=stream,
        revision=revision,
        position=position,
        type=event.type,
        data=bytes(event.data),
        metadata=bytes(event.metadata),
        recorded_at=recorded_at,
        hash=event_hash,
    )
