"""One SQLite file used from worker threads, off the event loop: one writer, a few readers.

Each thread keeps its own connection (WAL, busy timeout, secure_delete), so readers never
wait for the writer and the loop never blocks on the disk. Writes that arrive while the writer
is busy may share one transaction (one commit, one fsync): see `write_grouped`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from customerhub_shared import sqlite_files
from customerhub_shared.sqlite_files import Synchronous

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


@dataclass(frozen=True)
class _Grouped:
    work: Work[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop

    def settle(self, value: object, error: BaseException | None) -> None:
        if self.future.cancelled():
            return
        if error is None:
            self.future.set_result(value)
        else:
            self.future.set_exception(error)


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
        self._group: list[_Grouped] = []
        self._group_lock = threading.Lock()

    async def write(self, work: Work[T]) -> T:
        return await self._run(self._writer, work)

    async def write_grouped(self, work: Work[T]) -> T:
        """Run `work` in the writer's transaction shared with every grouped write that is
        waiting when the writer gets to it: one commit for all of them. Each runs in a
        savepoint of its own, so its error undoes only its own changes and reaches only its
        caller; each caller gets its answer once the shared commit is done. `work` must not
        begin or end transactions itself."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._group_lock:
            self._group.append(_Grouped(work, future, loop))
            first = len(self._group) == 1
        if first:
            self._writer.submit(self._commit_group)
        return await future

    def _commit_group(self) -> None:
        with self._group_lock:
            group, self._group = self._group, []
        outcomes: list[tuple[_Grouped, object, BaseException | None]] = []
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            for grouped in group:
                db.execute("SAVEPOINT grouped_write")
                try:
                    outcomes.append((grouped, grouped.work(db), None))
                    db.execute("RELEASE grouped_write")
                except Exception as refused:
                    db.execute("ROLLBACK TO grouped_write")
                    db.execute("RELEASE grouped_write")
                    outcomes.append((grouped, None, refused))
            db.execute("COMMIT")
        except BaseException as failure:
            if db.in_transaction:
                db.execute("ROLLBACK")
            outcomes = [(grouped, None, failure) for grouped in group]
        for grouped, value, problem in outcomes:
            grouped.loop.call_soon_threadsafe(grouped.settle, value, problem)

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
