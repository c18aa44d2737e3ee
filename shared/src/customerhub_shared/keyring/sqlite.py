"""Keys in a SQLite file of their own, so backups of the event store never hold them.

Writes are fully synchronous (fsync per commit): a lost key would lose personal data for
good. Keys created together share one transaction and its fsync (group commit). A destroyed
key leaves no copy in any of the keyring's files: secure_delete zeroes its cell, and the
write-ahead log that held it is checkpointed and truncated at once.
The work runs in threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from customerhub_shared import sqlite_files
from customerhub_shared.keyring.port import KeyDestroyed, KeyRing
from customerhub_shared.sqlite_group_commit import GroupCommit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject      TEXT PRIMARY KEY,
    data_key     BLOB,
    created_at   TEXT NOT NULL,
    destroyed_at TEXT
);
"""


_CHUNK = 500  # subjects per lookup, far below SQLite's limit on bound parameters


class SQLiteKeyRing(KeyRing):
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        # An in-memory keyring is one connection's: it makes its keys on that one.
        in_memory = str(path) == ":memory:"
        self._creates = (
            None
            if in_memory
            else GroupCommit(lambda: sqlite_files.connect(path, synchronous="FULL"), name="keys")
        )

    async def key_for(self, subject: UUID) -> bytes | None:
        row = await asyncio.to_thread(self._row, subject)
        return None if row is None or row[0] is None else bytes(row[0])

    async def keys_for(self, subjects: Sequence[UUID]) -> dict[UUID, bytes]:
        return await asyncio.to_thread(self._keys, list(dict.fromkeys(subjects)))

    async def create_key(self, subject: UUID) -> bytes:
        if self._creates is None:
            row = await asyncio.to_thread(self._create_here, subject)
        else:
            row = await self._creates.write(lambda db: _create(db, subject))
        if row is None or row[0] is None:
            raise KeyDestroyed(str(subject))
        return bytes(row[0])

    async def destroy(self, subject: UUID) -> None:
        await asyncio.to_thread(self._destroy, subject)

    async def close(self) -> None:
        if self._creates is not None:
            await asyncio.to_thread(self._creates.close)
        # A worker thread may still be inside a statement (its awaiting task was cancelled):
        # closing under it crashes the interpreter.
        with self._lock:
            self._db.close()

    def _keys(self, subjects: list[UUID]) -> dict[UUID, bytes]:
        found: dict[UUID, bytes] = {}
        by_name = {str(subject): subject for subject in subjects}
        names = list(by_name)
        with self._lock:
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT subject, data_key FROM subject_keys WHERE subject IN ({marks})"
                    " AND data_key IS NOT NULL",
                    chunk,
                ).fetchall()
                found.update((by_name[name], bytes(key)) for name, key in rows)
        return found

    def _create_here(self, subject: UUID) -> tuple[bytes | None] | None:
        with self._lock:
            return _create(self._db, subject)

    def _row(self, subject: UUID) -> tuple[bytes | None, str | None] | None:
        with self._lock:
            row: tuple[bytes | None, str | None] | None = self._db.execute(
                "SELECT data_key, destroyed_at FROM subject_keys WHERE subject = ?",
                (str(subject),),
            ).fetchone()
            return row

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


def _create(db: sqlite3.Connection, subject: UUID) -> tuple[bytes | None] | None:
    """Within the writer's transaction: the subject's key, made now unless it exists."""
    db.execute(
        "INSERT OR IGNORE INTO subject_keys (subject, data_key, created_at) VALUES (?, ?, ?)",
        (str(subject), os.urandom(32), datetime.now(UTC).isoformat()),
    )
    row: tuple[bytes | None] | None = db.execute(
        "SELECT data_key FROM subject_keys WHERE subject = ?", (str(subject),)
    ).fetchone()
    return row
