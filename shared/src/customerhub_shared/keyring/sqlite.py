"""Keys in a SQLite file of their own, so backups of the event store never hold them.

Writes are fully synchronous (fsync per commit): a lost key would lose personal data for
good. A destroyed key leaves no copy in any of the keyring's files: secure_delete zeroes its
cell, and the write-ahead log that held it is checkpointed and truncated at once.
The work runs in a thread, off the event loop; keys asked for while the file is busy are
created together, in one commit (one fsync).
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
        # Keys asked for and not yet created: (subject, its caller's future, the caller's loop).
        self._asked: list[tuple[UUID, asyncio.Future[bytes], asyncio.AbstractEventLoop]] = []
        self._asked_lock = threading.Lock()

    async def key_for(self, subject: UUID) -> bytes | None:
        row = await asyncio.to_thread(self._row, subject)
        return None if row is None or row[0] is None else bytes(row[0])

    async def create_key(self, subject: UUID) -> bytes:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        with self._asked_lock:
            self._asked.append((subject, future, loop))
            first = len(self._asked) == 1
        if first:
            loop.run_in_executor(None, self._create_asked)
        return await future

    async def destroy(self, subject: UUID) -> None:
        await asyncio.to_thread(self._destroy, subject)

    async def close(self) -> None:
        self._db.close()

    def _row(self, subject: UUID) -> tuple[bytes | None, str | None] | None:
        with self._lock:
            return self._row_unlocked(subject)

    def _row_unlocked(self, subject: UUID) -> tuple[bytes | None, str | None] | None:
        row: tuple[bytes | None, str | None] | None = self._db.execute(
            "SELECT data_key, destroyed_at FROM subject_keys WHERE subject = ?",
            (str(subject),),
        ).fetchone()
        return row

    def _create_asked(self) -> None:
        """Create every key asked for until the file is free, in one transaction."""
        with self._lock:
            with self._asked_lock:
                asked, self._asked = self._asked, []
            try:
                rows = self._create_all([subject for subject, _, _ in asked])
            except BaseException as error:
                for _, future, loop in asked:
                    loop.call_soon_threadsafe(_settle, future, None, error)
                return
        for subject, future, loop in asked:
            key = rows.get(subject)
            failure = None if key is not None else KeyDestroyed(str(subject))
            loop.call_soon_threadsafe(_settle, future, key, failure)

    def _create_all(self, subjects: list[UUID]) -> dict[UUID, bytes | None]:
        now = datetime.now(UTC).isoformat()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO subject_keys (subject, data_key, created_at)"
                " VALUES (?, ?, ?)",
                [(str(subject), os.urandom(32), now) for subject in dict.fromkeys(subjects)],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        rows = {subject: self._row_unlocked(subject) for subject in subjects}
        return {s: None if r is None or r[0] is None else bytes(r[0]) for s, r in rows.items()}

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


def _settle(future: asyncio.Future[bytes], key: bytes | None, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert key is not None
        future.set_result(key)
