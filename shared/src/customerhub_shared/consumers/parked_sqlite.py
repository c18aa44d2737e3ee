"""Parked events in a SQLite file of their own (embedded and single-machine deployments)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from customerhub_shared import sqlite_files
from customerhub_shared.consumers.parked import ParkedEvent, ParkedStore, Status
from customerhub_shared.consumers.parked_rows import COLUMNS, event_values, from_row, now
from customerhub_shared.eventstore import RecordedEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parked_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer    TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at TEXT    NOT NULL,
    hash        TEXT,
    error       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    parked_at   TEXT    NOT NULL,
    UNIQUE (consumer, event_id)
);
"""


class SQLiteParkedStore(ParkedStore):
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        # Every consumer asks for its blocked streams before each batch, and they rarely
        # change: the answers are kept while the file is unchanged. A connection of its own,
        # that never writes, tells (SQLite's data_version counts the others' commits, this
        # store's own included); an in-memory store has no other connection to tell.
        self._watch = (
            None if str(path) == ":memory:" else sqlite_files.connect(path, synchronous="FULL")
        )
        self._blocked: dict[str, set[str]] = {}
        self._blocked_version: int | None = None

    async def park(self, consumer: str, event: RecordedEvent, *, error: str, attempts: int) -> int:
        return await asyncio.to_thread(self._park, consumer, event, error, attempts)

    async def blocked_streams(self, consumer: str) -> set[str]:
        version = self._data_version()
        if version is None or version != self._blocked_version:
            self._blocked, self._blocked_version = {}, version
        elif consumer in self._blocked:
            return set(self._blocked[consumer])
        rows = await self._query(
            "SELECT DISTINCT stream FROM parked_events WHERE consumer = ?", (consumer,)
        )
        blocked = {row[0] for row in rows}
        # Read after the version: a commit in between shows as a new version next time.
        if version is not None and version == self._blocked_version:
            self._blocked[consumer] = blocked
        return set(blocked)

    def _data_version(self) -> int | None:
        """Changes whenever the file changed. Asked in the caller's thread, with no hop to a
        worker: it looks at the log's shared index, reads no page and waits for no lock."""
        if self._watch is None:
            return None
        version: int = self._watch.execute("PRAGMA data_version").fetchone()[0]
        return version

    async def parked(self, consumer: str | None = None) -> list[ParkedEvent]:
        where, args = ("WHERE consumer = ?", (consumer,)) if consumer else ("", ())
        rows = await self._query(
            f"SELECT {COLUMNS} FROM parked_events {where} ORDER BY consumer, position", args
        )
        return [from_row(row) for row in rows]

    async def get(self, parked_id: int) -> ParkedEvent | None:
        rows = await self._query(f"SELECT {COLUMNS} FROM parked_events WHERE id = ?", (parked_id,))
        return from_row(rows[0]) if rows else None

    async def mark(self, parked_id: int, status: Status) -> list[ParkedEvent]:
        # Read back in the same transaction: the runner may apply (and remove) them at once.
        rows = await asyncio.to_thread(self._mark, parked_id, status)
        return [from_row(row) for row in rows]

    async def failed_again(self, parked_id: int, error: str) -> None:
        await self._execute(
            "UPDATE parked_events SET status = 'parked', error = ?, attempts = attempts + 1"
            " WHERE id = ?",
            (error, parked_id),
        )

    async def remove(self, parked_id: int) -> None:
        await self._execute("DELETE FROM parked_events WHERE id = ?", (parked_id,))

    async def counts(self) -> dict[str, int]:
        rows = await self._query(
            "SELECT consumer, count(*) FROM parked_events GROUP BY consumer", ()
        )
        return {row[0]: int(row[1]) for row in rows}

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        with self._lock:
            self._db.close()

    def _park(self, consumer: str, event: RecordedEvent, error: str, attempts: int) -> int:
        with self._lock:
            self._db.execute(
                "INSERT INTO parked_events (consumer, event_id, stream, revision, position, type,"
                " data, metadata, recorded_at, hash, error, attempts, status, parked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'parked', ?)"
                " ON CONFLICT (consumer, event_id) DO NOTHING",
                (*event_values(consumer, event), error, attempts, now()),
            )
            row = self._db.execute(
                "SELECT id FROM parked_events WHERE consumer = ? AND event_id = ?",
                (consumer, str(event.id)),
            ).fetchone()
        return int(row[0])

    def _mark(self, parked_id: int, status: Status) -> list[tuple[Any, ...]]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                head = self._db.execute(
                    "SELECT consumer, stream, position FROM parked_events WHERE id = ?",
                    (parked_id,),
                ).fetchone()
                rows: list[tuple[Any, ...]] = []
                if head is not None:
                    self._db.execute(
                        "UPDATE parked_events SET status = 'retry' WHERE consumer = ?"
                        " AND stream = ? AND position > ?",
                        head,
                    )
                    self._db.execute(
                        "UPDATE parked_events SET status = ? WHERE id = ?", (status, parked_id)
                    )
                    rows = self._db.execute(
                        f"SELECT {COLUMNS} FROM parked_events WHERE consumer = ? AND stream = ?"
                        " AND position >= ? ORDER BY position",
                        head,
                    ).fetchall()
                self._db.execute("COMMIT")
                return rows
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    async def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._lock:
                return list(self._db.execute(sql, args).fetchall())

        return await asyncio.to_thread(run)

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        def run() -> None:
            with self._lock:
                self._db.execute(sql, args)

        await asyncio.to_thread(run)
