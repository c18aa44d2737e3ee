"""Idempotency answers in PostgreSQL (local cluster and production)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from customerhub_shared.idempotency.port import IdempotencyStore, StoredAnswer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotent_answers (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    status      int NOT NULL,
    body        bytea NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
)
"""


class PostgresIdempotencyStore(IdempotencyStore):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresIdempotencyStore:
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=5, open=False)
        await pool.open(wait=True)
        async with pool.connection() as db:
            await db.execute("SELECT pg_advisory_xact_lock(7311002)")
            await db.execute(_SCHEMA)
        return cls(pool)

    async def get(self, scope: str, key: str) -> StoredAnswer | None:
        async with self._pool.connection() as db:
            cursor = await db.execute(
                "SELECT fingerprint, status, body FROM idempotent_answers"
                " WHERE scope = %s AND key = %s",
                (scope, key),
            )
            row = await cursor.fetchone()
        return None if row is None else StoredAnswer(row[0], int(row[1]), bytes(row[2]))

    async def put(self, scope: str, key: str, answer: StoredAnswer) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO idempotent_answers (scope, key, fingerprint, status, body)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (scope, key, answer.fingerprint, answer.status, answer.body),
            )

    async def close(self) -> None:
        await self._pool.close()
