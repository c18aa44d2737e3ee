"""Idempotency answers in a SQLite file (embedded default).

A row with status 0 is a claim: its request is being answered by the holder of `claim_token`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from customerhub_shared import sqlite_files
from customerhub_shared.idempotency.port import ClaimTiming, IdempotencyStore, StoredAnswer

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

_CLAIM = """
INSERT INTO idempotent_answers (scope, key, fingerprint, status, body, stored_at, claim_token)
VALUES (:scope, :key, :fingerprint, 0, x'', :now, :token)
ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, claim_token = excluded.claim_token,
        stored_at = excluded.stored_at
    WHERE idempotent_answers.status = 0 AND idempotent_answers.stored_at < :abandoned
RETURNING claim_token
"""

_PUT = """
INSERT INTO idempotent_answers (scope, key, fingerprint, status, body, stored_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body,
        stored_at = excluded.stored_at, claim_token = NULL
    WHERE idempotent_answers.status = 0
"""


class SQLiteIdempotencyStore(IdempotencyStore):
    def __init__(self, path: Path | str, timing: ClaimTiming | None = None) -> None:
        # FULL: an answer stored must outlive a power cut, or a retry would act twice.
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(idempotent_answers)")}
        if "claim_token" not in columns:
            self._db.execute("ALTER TABLE idempotent_answers ADD COLUMN claim_token TEXT")
        self._lock = threading.Lock()
        self.timing = timing or ClaimTiming()

    async def get(self, scope: str, key: str) -> StoredAnswer | None:
        return await asyncio.to_thread(self._get, scope, key)

    async def put(self, scope: str, key: str, answer: StoredAnswer) -> StoredAnswer:
        return await asyncio.to_thread(self._put, scope, key, answer)

    async def claim(self, scope: str, key: str, fingerprint: str) -> str | None:
        return await asyncio.to_thread(self._claim, scope, key, fingerprint)

    async def release(self, scope: str, key: str, token: str) -> None:
        await asyncio.to_thread(self._release, scope, key, token)

    def _get(self, scope: str, key: str) -> StoredAnswer | None:
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint, status, body FROM idempotent_answers"
                " WHERE scope = ? AND key = ? AND status <> 0",
                (scope, key),
            ).fetchone()
        return None if row is None else StoredAnswer(row[0], int(row[1]), bytes(row[2]))

    def _put(self, scope: str, key: str, answer: StoredAnswer) -> StoredAnswer:
        row = (scope, key, answer.fingerprint, answer.status, answer.body, _now().isoformat())
        with self._lock:
            self._db.execute(_PUT, row)
        kept = self._get(scope, key)
        assert kept is not None, "an answer was just stored"
        return kept

    def _claim(self, scope: str, key: str, fingerprint: str) -> str | None:
        now = _now()
        token = uuid.uuid4().hex
        abandoned = now - timedelta(seconds=self.timing.lease_seconds)
        params = {
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "now": now.isoformat(),
            "token": token,
            "abandoned": abandoned.isoformat(),
        }
        with self._lock:
            # fetchall: a RETURNING statement ends its write only once stepped to the end.
            claimed = self._db.execute(_CLAIM, params).fetchall()
        return token if claimed else None

    def _release(self, scope: str, key: str, token: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM idempotent_answers"
                " WHERE scope = ? AND key = ? AND status = 0 AND claim_token = ?",
                (scope, key, token),
            )

    async def close(self) -> None:
        # A worker thread may still be inside a statement (its awaiting task was cancelled):
        # closing under it crashes the interpreter.
        with self._lock:
            self._db.close()


def _now() -> datetime:
    return datetime.now(UTC)
