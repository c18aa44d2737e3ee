"""Idempotency answers in a SQLite file (embedded default)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from customerhub_shared import sqlite_files
from customerhub_shared.idempotency.port import IdempotencyStore, StoredAnswer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotent_answers (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
"""


class SQLiteIdempotencyStore(IdempotencyStore):
    def __init__(self, path: Path | str) -> None:
        # FULL: an answer stored must outlive a power cut, or a retry would act twice.
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def get(self, scope: str, key: str) -> StoredAnswer | None:
        return await asyncio.to_thread(self._get, scope, key)

    async def put(self, scope: str, key: str, answer: StoredAnswer) -> None:
        await asyncio.to_thread(self._put, scope, key, answer)

    def _get(self, scope: str, key: str) -> StoredAnswer | None:
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint, status, body FROM idempotent_answers"
                " WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
        return None if row is None else StoredAnswer(row[0], int(row[1]), bytes(row[2]))

    def _put(self, scope: str, key: str, answer: StoredAnswer) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO idempotent_answers VALUES (?, ?, ?, ?, ?, ?)",
                (
                    scope,
                    key,
                    answer.fingerprint,
                    answer.status,
                    answer.body,
                    datetime.now(UTC).isoformat(),
                ),
            )

    async def close(self) -> None:
        self._db.close()
