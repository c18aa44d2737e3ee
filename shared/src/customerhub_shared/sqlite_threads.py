"""One SQLite file used from worker threads, off the event loop: one writer, a few readers.

Each thread keeps its own connection (WAL, busy timeout, secure_delete), so readers never
wait for the writer and the loop never blocks on the disk. A read is handed to the readers
through one queue and answered straight into the loop's future: no executor future chained
to it (a create makes several reads, and the loop's thread shares its core with theirs).
Writes go the same way to the one writer thread, in the order they were asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from customerhub_shared import sqlite_files
from customerhub_shared.sqlite_files import Synchronous

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]
# A read or a write asked of a thread: answered into its loop's future.
_Asked = tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Work[Any]]


class SQLiteThreads:
    def __init__(
        self,
        path: Path | str,
        *,
        name: str,
        readers: int = 2,
        synchronous: Synchronous = "FULL",
        page_size: int | None = None,
    ) -> None:
        """`synchronous`: FULL (a commit is on disk when it returns) unless the file can be
        rebuilt from elsewhere (a read model); `page_size`: of a new file (sqlite_files.connect)."""
        self._path = str(path)
        self._synchronous: Synchronous = synchronous
        self._page_size = page_size
        self._writes: queue.SimpleQueue[_Asked | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._serve, args=(self._writes,), name=f"{name}-write", daemon=True
        )
        self._writing = False
        self._reads: queue.SimpleQueue[_Asked | None] = queue.SimpleQueue()
        self._readers = [
            threading.Thread(
                target=self._serve, args=(self._reads,), name=f"{name}-read_{n}", daemon=True
            )
            for n in range(readers)
        ]
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False

    async def write(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        with self._lock:  # a write is never put behind the writer's stop
            if self._closed:
                raise RuntimeError("cannot write after close")
            if not self._writing:
                self._writing = True
                self._writer.start()
            self._writes.put((loop, answer, work))
        return await answer

    async def read(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        if not self._reading:
            self._start_readers()
        if self._closed:
            raise RuntimeError("cannot read after close")
        self._reads.put((loop, answer, work))
        return await answer

    def _start_readers(self) -> None:
        with self._lock:
            if not self._reading:
                self._reading = True
                for reader in self._readers:
                    reader.start()

    def _serve(self, asked: queue.SimpleQueue[_Asked | None]) -> None:
        while (job := asked.get()) is not None:
            loop, answer, work = job
            if answer.cancelled():  # its caller left before it began: as an executor does
                continue
            try:
                result = work(self._connection())
            except BaseException as error:  # the reader lives on; its caller gets the error
                _answer(loop, _fail, answer, error)
            else:
                _answer(loop, _settle, answer, result)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_files.connect(
                self._path, synchronous=self._synchronous, page_size=self._page_size
            )
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            self._closed = True
            writing = self._writing
            if writing:  # after the writes already asked for
                self._writes.put(None)
        if writing:
            self._writer.join()
        with self._lock:
            reading, self._reading = self._reading, True  # no reader starts from now on
        if reading:
            for _ in self._readers:
                self._reads.put(None)
            for reader in self._readers:
                reader.join()
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()


def _answer(
    loop: asyncio.AbstractEventLoop,
    give: Callable[[asyncio.Future[Any], Any], None],
    answer: asyncio.Future[Any],
    value: Any,
) -> None:
    # A closed loop (RuntimeError): nobody waits for this answer any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(give, answer, value)


def _settle(answer: asyncio.Future[Any], result: Any) -> None:
    if not answer.done():  # its caller may have gone (cancelled)
        answer.set_result(result)


def _fail(answer: asyncio.Future[Any], error: BaseException) -> None:
    if not answer.done():
        answer.set_exception(error)
