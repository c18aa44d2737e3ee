"""The access log in a PostgreSQL table (local cluster and production)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from customerhub_shared.accesslog.port import AccessLog, AccessPage, AccessRecord
from customerhub_shared.postgres_tables import open_pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    at           timestamptz NOT NULL,
    actor        text        NOT NULL,
    customer_ids uuid[]      NOT NULL,
    events       integer     NOT NULL
)
"""


class PostgresAccessLog(AccessLog):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresAccessLog:
        pool = await open_pool(dsn, _SCHEMA, lock=7311003, max_size=3)
        return cls(pool)

    async def record(self, entry: AccessRecord) -> None:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO access_log (id, at, actor, customer_ids, events)"
                " VALUES (%s, %s, %s, %s, %s)",
                (entry.id, entry.at, entry.actor, list(entry.customer_ids), entry.events),
            )

    async def newest(self, *, before: int | None = None, limit: int = 50) -> AccessPage:
        async with self._pool.connection() as db:
            cursor = await db.execute(
                "SELECT seq, id, at, actor, customer_ids, events FROM access_log"
                " WHERE seq < %s ORDER BY seq DESC LIMIT %s",
                (2**63 - 1 if before is None else before, limit + 1),
            )
            rows = await cursor.fetchall()
        records = [
            AccessRecord(
                id=row[1],
                at=row[2],
                actor=row[3],
                customer_ids=tuple(row[4]),
                events=int(row[5]),
            )
            for row in rows[:limit]
        ]
        return AccessPage(records, int(rows[limit - 1][0]) if len(rows) > limit else None)

    async def close(self) -> None:
        await self._pool.close()
