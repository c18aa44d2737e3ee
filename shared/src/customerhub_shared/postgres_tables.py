"""The one way a PostgreSQL adapter (keys, idempotency, checkpoints, access log, parked events,
imports) opens: a pool, once its tables exist."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


async def open_pool(dsn: str, schema: str, *, lock: int, max_size: int) -> AsyncConnectionPool:
    """A pool on `dsn` after `schema` ran. Every process that opens the same tables takes the
    same advisory `lock` first: two `CREATE TABLE IF NOT EXISTS` at once can still collide."""
    pool = AsyncConnectionPool(dsn, min_size=1, max_size=max_size, open=False)
    await pool.open(wait=True)
    async with pool.connection() as db:
        await db.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
        await db.execute(schema)
    return pool
