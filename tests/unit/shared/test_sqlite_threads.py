"""Reads handed to the reader threads come back to their caller: a result, an error, or
nothing to a caller that went away; the readers live on through all of them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from customerhub_shared.sqlite_threads import SQLiteThreads


@pytest.fixture
async def db(tmp_path: Path) -> SQLiteThreads:
    threads = SQLiteThreads(tmp_path / "t.db", name="test", readers=2)
    await threads.write(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
    await threads.write(lambda c: c.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)]))
    return threads


async def test_reads_answer_their_callers_off_the_loop_thread(db: SQLiteThreads) -> None:
    loop_thread = threading.get_ident()

    def total(c: sqlite3.Connection) -> tuple[int, bool]:
        return c.execute("SELECT SUM(n) FROM t").fetchone()[0], threading.get_ident() != loop_thread

    answers = await asyncio.gather(*(db.read(total) for _ in range(20)))
    assert answers == [(3, True)] * 20
    db.close()


async def test_an_error_goes_to_its_caller_and_the_readers_carry_on(db: SQLiteThreads) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.read(lambda c: c.execute("SELECT nothing FROM nowhere").fetchall())
    for _ in range(3):  # more than the readers: none of them died
        assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()[0]) == 2
    db.close()


async def test_a_caller_that_went_away_leaves_the_readers_working(db: SQLiteThreads) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow(c: sqlite3.Connection) -> int:
        started.set()
        release.wait(5)
        return 1

    waiting = asyncio.ensure_future(db.read(slow))
    await asyncio.to_thread(started.wait, 5)
    waiting.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await db.read(lambda c: c.execute("SELECT MAX(n) FROM t").fetchone()[0]) == 2
    db.close()


async def test_no_read_after_close(db: SQLiteThreads) -> None:
    db.close()
    with pytest.raises(RuntimeError):
        await db.read(lambda c: 1)
