"""Idempotency answers in PostgreSQL (local cluster and production), shared by every replica.

A row with status 0 is a claim: its request is being answered by the holder of `claim_token`.
"""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from customerhub_shared.idempotency.port import ClaimTiming, IdempotencyStore, StoredAnswer
from customerhub_shared.postgres_tables import open_pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotent_answers (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    status      int NOT NULL,
    body        bytea NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
ALTER TABLE idempotent_answers ADD COLUMN IF NOT EXISTS claim_token text;
"""

_CLAIM = """
INSERT INTO idempotent_answers (scope, key, fingerprint, status, body, claim_token)
VALUES (%(scope)s, %(key)s, %(fingerprint)s, 0, '', %(token)s)
ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, claim_token = EXCLUDED.claim_token, stored_at = now()
    WHERE idempotent_answers.status = 0
      AND idempotent_answers.stored_at < now() - make_interval(secs => %(lease)s)
RETURNING claim_token
"""

_PUT = """
INSERT INTO idempotent_answers (scope, key, fingerprint, status, body)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
        claim_token = NULL, stored_at = now()
    WHERE idempotent_answers.status = 0
"""


class PostgresIdempotencyStore(IdempotencyStore):
    def __init__(self, pool: AsyncConnectionPool, timing: ClaimTiming | None = None) -> None:
        self._pool = pool
        self.timing = timing or ClaimTiming()

    @classmethod
    async def open(cls, dsn: str, timing: ClaimTiming | None = None) -> PostgresIdempotencyStore:
        pool = await open_pool(dsn, _SCHEMA, lock=7311002, max_size=5)
        return cls(pool, timing)

    async def get(self, scope: str, key: str) -> StoredAnswer | None:
        async with self._pool.connection() as db:
            return await _answer(db, scope, key)

    async def put(self, scope: str, key: str, answer: StoredAnswer) -> StoredAnswer:
        async with self._pool.connection() as db:
            await db.execute(_PUT, (scope, key, answer.fingerprint, answer.status, answer.body))
            kept = await _answer(db, scope, key)
        assert kept is not None, "an answer was just stored"
        return kept

    async def claim(self, scope: str, key: str, fingerprint: str) -> str | None:
        token = uuid.uuid4().hex
        params = {
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "token": token,
            "lease": self.timing.lease_seconds,
        }
        async with self._pool.connection() as db:
            row = await (await db.execute(_CLAIM, params)).fetchone()
        return token if row is not None else None

    async def release(self, scope: str, key: str, token: str) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "DELETE FROM idempotent_answers"
                " WHERE scope = %s AND key = %s AND status = 0 AND claim_token = %s",
                (scope, key, token),
            )

    async def close(self) -> None:
        await self._pool.close()


async def _answer(db: AsyncConnection, scope: str, key: str) -> StoredAnswer | None:
    cursor = await db.execute(
        "SELECT fingerprint, status, body FROM idempotent_answers"
        " WHERE scope = %s AND key = %s AND status <> 0",
        (scope, key),
    )
    row = await cursor.fetchone()
    return None if row is None else StoredAnswer(row[0], int(row[1]), bytes(row[2]))
