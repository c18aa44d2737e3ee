"""The access log in a SQLite file of its own in the data directory (embedded mode).

Fully synchronous, like the keyring: an access that answered must stay on record.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime
from pathlib import Path
from uuid import UUID

from customerhub_shared import sqlite_files
from customerhub_shared.accesslog.port import AccessLog, AccessPage, AccessRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    customer_ids TEXT    NOT NULL,
    events       INTEGER NOT NULL
);
"""


class SQLiteAccessLog(AccessLog):
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite_files.connect(path, synchronous="FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def record(self, entry: AccessRecord) -> None:
        await asyncio.to_thread(self._insert, entry)

    async def newest(self, *, before: int | None = None, limit: int = 50) -> AccessPage:
        return await asyncio.to_thread(self._page, before, limit)

    async def close(self) -> None:
        # A worker thread may still be inside a statement (its awaiting task was cancelled):
        # closing under it crashes the interpreter.
        with self._lock:
            self._db.close()

    def _insert(self, entry: AccessRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO access_log (id, at, actor, customer_ids, events)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    str(entry.id),
                    entry.at.isoformat(),
                    entry.actor,
                    json.dumps([str(c) for c in entry.customer_ids]),
                    entry.events,
                ),
            )

    def _page(self, before: int | None, limit: int) -> AccessPage:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, at, actor, customer_ids, events FROM access_log"
                " WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                (2**63 - 1 if before is None else before, limit + 1),
            ).fetchall()
        records = [
            AccessRecord(
                id=UUID(row[1]),
                at=datetime.fromisoformat(row[2]),
                actor=row[3],
                customer_ids=tuple(UUID(c) for c in json.loads(row[4])),
                events=int(row[5]),
            )
            for row in rows[:limit]
        ]
        return AccessPage(records, int(rows[limit - 1][0]) if len(rows) > limit else None)
