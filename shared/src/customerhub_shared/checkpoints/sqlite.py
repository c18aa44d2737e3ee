"""Checkpoints in a SQLite file of their own (embedded and single-machine deployments)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from customerhub_shared import sqlite_files
from customerhub_shared.checkpoints.port import CheckpointStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_checkpoints (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
);
"""


class SQLiteCheckpointStore(CheckpointStore):
    def __init__(self, path: Path | str) -> None:
        # A checkpoint that a power cut rolled back only means republishing: NORMAL is enough.
        self._db = sqlite_files.connect(path, synchronous="NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def get(self, name: str) -> int | None:
        return await asyncio.to_thread(self._get, name)

    async def save(self, name: str, position: int) -> None:
        await asyncio.to_thread(self._save, name, position)

    async def close(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, name: str) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT position FROM log_checkpoints WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else int(row[0])

    def _save(self, name: str, position: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO log_checkpoints (name, position, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE"
                " SET position = excluded.position, updated_at = excluded.updated_at",
                (name, position, datetime.now(UTC).isoformat()),
            )
