"""Imports and their progress in a SQLite file in the data directory (embedded default)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

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
from customerhub_shared import sqlite_files

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_imports (
    import_id   TEXT PRIMARY KEY,
    file_name   TEXT NOT NULL,
    file_hash   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    options     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL,
    total_rows  INTEGER,
    next_row    INTEGER NOT NULL,
    counts      TEXT NOT NULL,
    finished_at TEXT,
    failure     TEXT,
    content     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_import_notes (
    import_id TEXT NOT NULL,
    row       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    field     TEXT,
    message   TEXT NOT NULL,
    matches   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_import_notes_by_row ON customer_import_notes (import_id, row);
"""


class SQLiteImportStore(ImportStore):
    def __init__(self, path: Path | str) -> None:
        # secure_delete: an uploaded list is personal data, dropped once the import ends.
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def add(self, record: ImportRecord, content: bytes) -> None:
        await asyncio.to_thread(self._add, record, content)

    async def get(self, import_id: UUID) -> ImportRecord | None:
        rows = await asyncio.to_thread(
            self._select,
            f"SELECT {RECORD_COLUMNS} FROM customer_imports WHERE import_id = ?",
            (str(import_id),),
        )
        return record_from(rows[0]) if rows else None

    async def content(self, import_id: UUID) -> bytes:
        rows = await asyncio.to_thread(
            self._select,
            "SELECT content FROM customer_imports WHERE import_id = ?",
            (str(import_id),),
        )
        return bytes(rows[0][0])

    async def notes(self, import_id: UUID, *, limit: int) -> list[RowNote]:
        rows = await asyncio.to_thread(
            self._select,
            "SELECT row, kind, field, message, matches FROM customer_import_notes"
            " WHERE import_id = ? ORDER BY row, rowid LIMIT ?",
            (str(import_id), limit),
        )
        return [note_from(row) for row in rows]

    async def save_progress(self, record: ImportRecord, notes: Sequence[RowNote]) -> None:
        await asyncio.to_thread(self._save, record, notes)

    async def unfinished(self) -> list[ImportRecord]:
        rows = await asyncio.to_thread(
            self._select,
            f"SELECT {RECORD_COLUMNS} FROM customer_imports"
            " WHERE status IN ('queued', 'running') ORDER BY created_at",
            (),
        )
        return [record_from(row) for row in rows]

    async def close(self) -> None:
        # A worker thread may still be inside a statement (its awaiting task was cancelled):
        # closing under it crashes the interpreter.
        with self._lock:
            self._db.close()

    def _select(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def _add(self, record: ImportRecord, content: bytes) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT INTO customer_imports ({RECORD_COLUMNS}, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*record_row(record), content),
            )

    def _save(self, record: ImportRecord, notes: Sequence[RowNote]) -> None:
        row = record_row(record)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "UPDATE customer_imports SET status = ?, total_rows = ?, next_row = ?,"
                    " counts = ?, finished_at = ?, failure = ?,"
                    " content = CASE WHEN ? THEN x'' ELSE content END WHERE import_id = ?",
                    (*row[6:], record.status in FINISHED, row[0]),
                )
                self._db.executemany(
                    "INSERT INTO customer_import_notes (import_id, row, kind, field, message,"
                    " matches) VALUES (?, ?, ?, ?, ?, ?)",
                    [note_row(record.import_id, note) for note in notes],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if record.status in FINISHED:
                # The upload is gone from the file (secure_delete); its pages leave the log too.
                sqlite_files.erase_replaced(self._db)
