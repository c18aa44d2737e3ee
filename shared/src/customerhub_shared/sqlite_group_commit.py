"""Group commit for one SQLite file: the writes waiting together share one transaction and one
fsync, each in its own savepoint, so a write that fails leaves the others of its batch intact.

One writer thread drains the queue of pending writes. The writes an event loop starts in one of
its turns reach that thread together, as one hand-over after the turn: one wake-up of the writer
for all of them, and one batch, where handing each over at once would wake the writer for the
first alone. A caller's future is resolved only once the COMMIT covering its write has returned,
which under `synchronous=FULL` means on disk.

A task that writes alone, back to back (its last write was the last write, committed in a batch
of its own, and nobody's write is waiting), has no batch to join: with `lone_writes_here`, it
commits in its own thread instead, sparing the two thread wake-ups of a hand-over. Its event loop
then waits for that one commit (fsync included) where it would otherwise run other callbacks, so
the task yields once to the loop after each such write, and a second writer (another task,
another loop) sends it back to the writer thread at once. If another process holds the write
lock, the write goes to the writer thread, which waits for the lock (busy timeout) where the
caller's loop must not.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

_STOP = None


@dataclass(slots=True)
class _Write(Generic[T]):
    work: Work[T]
    outcome: Any = None
    failed: bool = False


@dataclass(slots=True, kw_only=True)
class _Pending(_Write[T]):
    """A write handed to the writer thread, answered into its caller's loop."""

    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


class GroupCommit:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        name: str,
        max_batch: int = 256,
        lone_writes_here: bool = False,
    ) -> None:
        """`connect` is called once in the writer thread (and once more for writes committed
        in the caller's thread); the connection it returns must be in autocommit mode
        (`isolation_level=None`): the writer opens each transaction."""
        self._connect = connect
        self._max_batch = max_batch
        self._pending: queue.SimpleQueue[list[_Pending[Any]] | None] = queue.SimpleQueue()
        self._gathering: dict[asyncio.AbstractEventLoop, list[_Pending[Any]]] = {}
        self._thread = threading.Thread(target=self._serve, name=f"{name}-commit", daemon=True)
        self._started = False
        self._closed = False
        self._lock = threading.Lock()
        self._turn = threading.Lock()  # held while a transaction is open, by the writer or a caller
        self._lone_writes_here = lone_writes_here
        self._here: sqlite3.Connection | None = None
        self._last_writer: asyncio.Task[Any] | None = None
        self._last_batch = 0
        self.commits = 0  # transactions committed: fewer than writes when batches formed
        self.commits_here = 0  # of which committed in the caller's thread

    async def write(self, work: Work[T]) -> T:
        """Run `work` in a transaction of the writer and return its result once committed."""
        if not self._started:
            self._start()
        loop = asyncio.get_running_loop()
        if self._lone_writes_here and self._writes_alone(loop):
            alone: _Write[T] = _Write(work)
            if self._write_here(alone):
                await asyncio.sleep(0)  # the loop's other callbacks run between two lone writes
                if alone.failed:
                    raise alone.outcome
                return alone.outcome  # type: ignore[no-any-return]
        future: asyncio.Future[T] = loop.create_future()
        gathered = self._gathering.get(loop)
        if gathered is None:
            gathered = self._gathering[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathered.append(_Pending(work, future=future, loop=loop))
        return await future

    def _writes_alone(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether the calling task wrote last, alone in its batch, and no write waits now."""
        task = asyncio.current_task(loop)
        alone = (
            task is not None
            and task is self._last_writer
            and self._last_batch == 1
            and loop not in self._gathering
            and self._pending.empty()
        )
        self._last_writer = task
        return alone

    def _write_here(self, pending: _Write[Any]) -> bool:
        """Run and commit one write in the calling thread; False, with nothing done, if the
        writer holds the turn or another process holds the write lock."""
        if not self._turn.acquire(blocking=False):
            return False
        try:
            if self._closed:
                return False
            db = self._here if self._here is not None else self._open_here()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # busy: the writer thread waits for the lock
                return False
            try:
                self._commit(db, [pending], begun=True)
            except BaseException:  # an interrupt, say: leave no transaction open behind it
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            self._last_batch = 1
            self.commits_here += not pending.failed
            return True
        finally:
            self._turn.release()

    def _open_here(self) -> sqlite3.Connection:
        db = self._connect()
        db.execute("PRAGMA busy_timeout=0")  # never wait for another process in the loop
        self._here = db
        return db

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if not self._started:
                return
            self._pending.put(_STOP)
        self._thread.join()
        with self._turn:
            if self._here is not None:
                self._here.close()
                self._here = None

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        gathered = self._gathering.pop(loop)
        with self._lock:
            if not self._closed:
                self._pending.put(gathered)
                return
        for pending in gathered:  # nobody will write them: say so rather than hang
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the writer is closed"))

    def _start(self) -> None:
        with self._lock:
            if not self._started and not self._closed:
                self._started = True
                self._thread.start()

    def _serve(self) -> None:
        db = self._connect()
        try:
            while (batch := self._next_batch()) is not None:
                with self._turn:
                    self._commit(db, batch)
                    self._last_batch = len(batch)
                _answer(batch)
        finally:
            db.close()

    def _next_batch(self) -> list[_Pending[Any]] | None:
        batch = self._pending.get()
        if batch is None:
            return None
        while len(batch) < self._max_batch and not self._pending.empty():
            more = self._pending.get_nowait()
            if more is None:  # stop after this batch
                self._pending.put(_STOP)
                break
            batch += more
        return batch

    def _commit(
        self, db: sqlite3.Connection, batch: Sequence[_Write[Any]], *, begun: bool = False
    ) -> None:
        try:
            if not begun:
                db.execute("BEGIN IMMEDIATE")
            if not _run_all(db, batch):
                # One write failed: undo the batch, then run it again, each write in its own
                # savepoint, so only the failing one is left out.
                db.execute("ROLLBACK")
                if len(batch) == 1:
                    return
                db.execute("BEGIN IMMEDIATE")
                for pending in batch:
                    db.execute("SAVEPOINT pending_write")
                    _run(db, pending, undo="ROLLBACK TO pending_write")
                    db.execute("RELEASE pending_write")
            db.execute("COMMIT")
            self.commits += 1
        except Exception as error:  # the batch is lost as a whole: every caller hears why
            if db.in_transaction:
                db.execute("ROLLBACK")
            for pending in batch:
                pending.outcome, pending.failed = error, True


def _run_all(db: sqlite3.Connection, batch: Sequence[_Write[Any]]) -> bool:
    """Run the batch's writes in one go, with no savepoints: most batches have no failure.
    False, with the failed write's error kept, when one of them raised."""
    for pending in batch:
        pending.failed = False
        try:
            pending.outcome = pending.work(db)
        except Exception as error:
            pending.outcome, pending.failed = error, True
            return False
    return True


def _run(db: sqlite3.Connection, pending: _Write[Any], *, undo: str) -> bool:
    """Run one write; on failure undo what it did and keep the error for its caller."""
    try:
        pending.outcome = pending.work(db)
    except Exception as error:
        db.execute(undo)
        pending.outcome, pending.failed = error, True
        return False
    return True


def _answer(batch: list[_Pending[Any]]) -> None:
    """Resolve every future of the batch, with one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending[Any]]] = {}
    for pending in batch:
        by_loop.setdefault(pending.loop, []).append(pending)
    for loop, answered in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, answered)
        except RuntimeError:  # that loop is closed: nobody waits any more
            continue


def _resolve(answered: list[_Pending[Any]]) -> None:
    for pending in answered:
        if pending.future.done():  # the caller was cancelled meanwhile
            continue
        if pending.failed:
            pending.future.set_exception(pending.outcome)
        else:
            pending.future.set_result(pending.outcome)
