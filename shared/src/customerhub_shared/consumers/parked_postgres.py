"""Parked events in a PostgreSQL table (local cluster and production)."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from customerhub_shared.consumers.parked import ParkedEvent, ParkedStore, Status
from customerhub_shared.consumers.parked_rows import COLUMNS, event_values, from_row, now
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.postgres_tables import open_pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parked_events (
    id          bigserial   PRIMARY KEY,
    consumer    text        NOT NULL,
    event_id    text        NOT NULL,
    stream      text        NOT NULL,
    revision    bigint      NOT NULL,
    position    bigint      NOT NULL,
    type        text        NOT NULL,
    data        bytea       NOT NULL,
    metadata    bytea       NOT NULL,
    recorded_at text        NOT NULL,
    hash        text,
    error       text        NOT NULL,
    attempts    integer     NOT NULL,
    status      text        NOT NULL,
    parked_at   text        NOT NULL,
    UNIQUE (consumer, event_id)
)
"""
# Any constant will do: it only keeps two processes from creating the table at once.
_SCHEMA_LOCK = 7311004


class PostgresParkedStore(ParkedStore):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresParkedStore:
        pool = await open_pool(dsn, _SCHEMA, lock=_SCHEMA_LOCK, max_size=2)
        return cls(pool)

    async def park(self, consumer: str, event: RecordedEvent, *, error: str, attempts: int) -> int:
        async with self._pool.connection() as db:
            await db.execute(
                "INSERT INTO parked_events (consumer, event_id, stream, revision, position, type,"
                " data, metadata, recorded_at, hash, error, attempts, status, parked_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'parked', %s)"
                " ON CONFLICT (consumer, event_id) DO NOTHING",
                (*event_values(consumer, event), error, attempts, now()),
            )
            cursor = await db.execute(
                "SELECT id FROM parked_events WHERE consumer = %s AND event_id = %s",
                (consumer, str(event.id)),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def blocked_streams(self, consumer: str) -> set[str]:
        rows = await self._query(
            "SELECT DISTINCT stream FROM parked_events WHERE consumer = %s", (consumer,)
        )
        return {row[0] for row in rows}

    async def parked(self, consumer: str | None = None) -> list[ParkedEvent]:
        where, args = ("WHERE consumer = %s", (consumer,)) if consumer else ("", ())
        rows = await self._query(
            f"SELECT {COLUMNS} FROM parked_events {where} ORDER BY consumer, position", args
        )
        return [from_row(row) for row in rows]

    async def get(self, parked_id: int) -> ParkedEvent | None:
        rows = await self._query(f"SELECT {COLUMNS} FROM parked_events WHERE id = %s", (parked_id,))
        return from_row(rows[0]) if rows else None

    async def mark(self, parked_id: int, status: Status) -> list[ParkedEvent]:
        async with self._pool.connection() as db, db.transaction():
            cursor = await db.execute(
                "SELECT consumer, stream, position FROM parked_events WHERE id = %s FOR UPDATE",
                (parked_id,),
            )
            head = await cursor.fetchone()
            if head is None:
                return []
            await db.execute(
                "UPDATE parked_events SET status = 'retry'"
                " WHERE consumer = %s AND stream = %s AND position > %s",
                head,
            )
            await db.execute(
                "UPDATE parked_events SET status = %s WHERE id = %s", (status, parked_id)
            )
            # Read back in the same transaction: the runner may apply (and remove) them at once.
            cursor = await db.execute(
                f"SELECT {COLUMNS} FROM parked_events WHERE consumer = %s AND stream = %s"
                " AND position >= %s ORDER BY position",
                tuple(head),
            )
            rows = await cursor.fetchall()
        return [from_row(row) for row in rows]

    async def failed_again(self, parked_id: int, error: str) -> None:
        await self._execute(
            "UPDATE parked_events SET status = 'parked', error = %s, attempts = attempts + 1"
            " WHERE id = %s",
            (error, parked_id),
        )

    async def remove(self, parked_id: int) -> None:
        await self._execute("DELETE FROM parked_events WHERE id = %s", (parked_id,))

    async def counts(self) -> dict[str, int]:
        rows = await self._query(
            "SELECT consumer, count(*) FROM parked_events GROUP BY consumer", ()
        )
        return {row[0]: int(row[1]) for row in rows}

    async def close(self) -> None:
        await self._pool.close()

    async def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as db:
            cursor = await db.execute(sql, args)
            return list(await cursor.fetchall())

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        async with self._pool.connection() as db:
            await db.execute(sql, args)
