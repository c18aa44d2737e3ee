"""Imports and their progress in PostgreSQL (local cluster and production), beside the keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from customer_command.adapters.import_records import (
    RECORD_COLUMNS,
    note_from,
    note_row,
    record_from,
    record_row,
)
from customer_command.application.imports.ports import (
    FINISHED,
    ImportRecord,
    ImportStore,
    RowNote,
)
from customerhub_shared.postgres_tables import open_pool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_imports (
    import_id   text PRIMARY KEY,
    file_name   text NOT NULL,
    file_hash   text NOT NULL,
    actor       text NOT NULL,
    options     text NOT NULL,
    created_at  text NOT NULL,
    status      text NOT NULL,
    total_rows  int,
    next_row    int NOT NULL,
    counts      text NOT NULL,
    finished_at text,
    failure     text,
    content     bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_import_notes (
    seq       bigserial PRIMARY KEY,
    import_id text NOT NULL,
    row       int NOT NULL,
    kind      text NOT NULL,
    field     text,
    message   text NOT NULL,
    matches   text NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_import_notes_by_row ON customer_import_notes (import_id, row);
"""


class PostgresImportStore(ImportStore):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresImportStore:
        pool = await open_pool(dsn, _SCHEMA, lock=7311015, max_size=3)
        return cls(pool)

    async def add(self, record: ImportRecord, content: bytes) -> None:
        placeholders = ", ".join(["%s"] * 13)
        async with self._pool.connection() as db:
            await db.execute(
                f"INSERT INTO customer_imports ({RECORD_COLUMNS}, content) VALUES ({placeholders})",
                (*record_row(record), content),
            )

    async def get(self, import_id: UUID) -> ImportRecord | None:
        rows = await self._select(
            f"SELECT {RECORD_COLUMNS} FROM customer_imports WHERE import_id = %s",
            (str(import_id),),
        )
        return record_from(rows[0]) if rows else None

    async def content(self, import_id: UUID) -> bytes:
        rows = await self._select(
            "SELECT content FROM customer_imports WHERE import_id = %s", (str(import_id),)
        )
        return bytes(rows[0][0])

    async def notes(self, import_id: UUID, *, limit: int) -> list[RowNote]:
        rows = await self._select(
            "SELECT row, kind, field, message, matches FROM customer_import_notes"
            " WHERE import_id = %s ORDER BY row, seq LIMIT %s",
            (str(import_id), limit),
        )
        return [note_from(row) for row in rows]

    async def save_progress(self, record: ImportRecord, notes: Sequence[RowNote]) -> None:
        row = record_row(record)
        async with self._pool.connection() as db, db.transaction():
            await db.execute(
                "UPDATE customer_imports SET status = %s, total_rows = %s, next_row = %s,"
                " counts = %s, finished_at = %s, failure = %s,"
                " content = CASE WHEN %s THEN ''::bytea ELSE content END WHERE import_id = %s",
                (*row[6:], record.status in FINISHED, row[0]),
            )
            async with db.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO customer_import_notes (import_id, row, kind, field, message,"
                    " matches) VALUES (%s, %s, %s, %s, %s, %s)",
                    [note_row(record.import_id, note) for note in notes],
                )

    async def unfinished(self) -> list[ImportRecord]:
        rows = await self._select(
            f"SELECT {RECORD_COLUMNS} FROM customer_imports"
            " WHERE status IN ('queued', 'running') ORDER BY created_at",
            (),
        )
        return [record_from(row) for row in rows]

    async def close(self) -> None:
        await self._pool.close()

    async def _select(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as db:
            cursor = await db.execute(sql, params)
            return list(await cursor.fetchall())
