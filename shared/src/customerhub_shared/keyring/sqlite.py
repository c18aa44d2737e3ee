"""Keys in a SQLite file of their own, so backups of the event store never hold them.

Writes are fully synchronous (fsync per commit): a lost key would lose personal data for
good. A destroyed key leaves no copy in any of the keyring's files: secure_delete zeroes its
cell, and the write-ahead log that held it is checkpointed and truncated at once.
The work runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from customerhub_shared import sqlite_files
from customerhub_shared.keyring.port import KeyDestroyed, KeyRing

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject      TEXT PRIMARY KEY,
    data_key     BLOB,
    created_at   TEXT NOT NULL,
    destroyed_at TEXT
);
"""


class SQLiteKeyRing(KeyRing):
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def key_for(self, subject: UUID) -> bytes | None:
        row = await asyncio.to_thread(self._row, subject)
        return None if row is None or row[0] is None else bytes(row[0])

    async def create_key(self, subject: UUID) -> bytes:
        return await asyncio.to_thread(self._create, subject)

    async def destroy(self, subject: UUID) -> None:
        await asyncio.to_thread(self._destroy, subject)

    async def close(self) -> None:
        # A worker thread may still be inside a statement (its awaiting task was cancelled):
        # closing under it crashes the interpreter.
        with self._lock:
            self._db.close()

    def _row(self, subject: UUID) -> tuple[bytes | None, str | None] | None:
        with self._lock:
            row: tuple[bytes | None, str | None] | None = self._db.execute(
                "SELECT data_key, destroyed_at FROM subject_keys WHERE subject = ?",
                (str(subject),),
            ).fetchone()
            return row

    def _create(self, subject: UUID) -> bytes:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO subject_keys (subject, data_key, created_at)"
                " VALUES (?, ?, ?)",
                (str(subject), os.urandom(32), now),
            )
        row = self._row(subject)
        if row is None or row[0] is None:
            raise KeyDestroyed(str(subject))
        return bytes(row[0])

    def _destroy(self, subject: UUID) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO subject_keys (subject, data_key, created_at, destroyed_at)"
                " VALUES (?, NULL, ?, ?) ON CONFLICT (subject) DO UPDATE"
                " SET data_key = NULL, destroyed_at = excluded.destroyed_at",
                (str(subject), now, now),
            )
            sqlite_files.erase_replaced(self._db)
