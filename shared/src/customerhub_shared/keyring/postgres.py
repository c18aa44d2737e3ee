"""Keys in a PostgreSQL table of their own (local cluster and production without a KMS)."""

from __future__ import annotations

import os
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from customerhub_shared.keyring.port import KeyDestroyed, KeyRing

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject      uuid PRIMARY KEY,
    data_key     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz
)
"""


class PostgresKeyRing(KeyRing):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresKeyRing:
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=5, open=False)
        await pool.open(wait=True)
        async with pool.connection() as db:
            await db.execute("SELECT pg_advisory_xact_lock(7311001)")
            await db.execute(_SCHEMA)
        return cls(pool)

    async def key_for(self, subject: UUID) -> bytes | None:
        async with self._pool.connection() as db:
            cursor = await db.execute(
                "SELECT data_key FROM subject_keys WHERE subject = %s", (subject,)
            )
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    async def create_key(self, subject: UUID) -> bytes:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO subject_keys (subject, data_key) VALUES (%s, %s)"
                " ON CONFLICT (subject) DO NOTHING",
                (subject, os.urandom(32)),
            )
            cursor = await db.execute(
                "SELECT data_key FROM subject_keys WHERE subject = %s", (subject,)
            )
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            raise KeyDestroyed(str(subject))
        return bytes(row[0])

    async def destroy(self, subject: UUID) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO subject_keys (subject, data_key, destroyed_at)"
                " VALUES (%s, NULL, now())"
                " ON CONFLICT (subject) DO UPDATE SET data_key = NULL, destroyed_at = now()",
                (subject,),
            )

    async def close(self) -> None:
        await self._pool.close()
