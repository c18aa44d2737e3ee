"""One SQLite file used from worker threads, off the event loop: one writer, a few readers.

Each thread keeps its own connection (WAL, busy timeout, secure_delete), so readers never
wait for the writer and the loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from customerhub_shared import sqlite_files
from customerhub_shared.sqlite_files import Synchronous

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


class SQLiteThreads:
    def __init__(
        self,
        path: Path | str,
        *,
        name: str,
        readers: int = 2,
        synchronous: Synchronous = "FULL",
    ) -> None:
        """`synchronous`: FULL (a commit is on disk when it returns) unless the file can be
        rebuilt from elsewhere (a read model)."""
        self._path = str(path)
        self._synchronous: Synchronous = synchronous
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-write")
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix=f"{name}-read")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    async def write(self, work: Work[T]) -> T:
        return await self._run(self._writer, work)

    async def read(self, work: Work[T]) -> T:
        return await self._run(self._readers, work)

    async def _run(self, pool: ThreadPoolExecutor, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, lambda: work(self._connection()))

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_files.connect(self._path, synchronous=self._synchronous)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
