"""Checkpoints in a PostgreSQL table (local cluster and production)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from customerhub_shared.checkpoints.port import CheckpointStore
from customerhub_shared.postgres_tables import open_pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""

# Any constant will do: it only keeps two processes from creating the table at once.
_SCHEMA_LOCK = 7311003


class PostgresCheckpointStore(CheckpointStore):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresCheckpointStore:
        pool = await open_pool(dsn, _SCHEMA, lock=_SCHEMA_LOCK, max_size=2)
        return cls(pool)

    async def get(self, name: str) -> int | None:
        async with self._pool.connection() as db:
            cursor = await db.execute(
                "SELECT position FROM log_checkpoints WHERE name = %s", (name,)
            )
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def save(self, name: str, position: int) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO log_checkpoints (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE"
                " SET position = excluded.position, updated_at = now()",
                (name, position),
            )

    async def close(self) -> None:
        await self._pool.close()
