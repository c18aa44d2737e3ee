"""Reads handed to the reader threads come back to their caller: a result, an error, or
nothing to a caller that went away; the readers live on through all of them. Writes go to the
one writer thread the same way, in the order asked; close waits for those asked before it."""

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


async def test_writes_run_off_the_loop_thread_in_the_order_asked(db: SQLiteThreads) -> None:
    loop_thread = threading.get_ident()

    async def append(n: int) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            c.execute("INSERT INTO t VALUES (?)", (n,))
            return threading.get_ident() != loop_thread

        return await db.write(work)

    assert await asyncio.gather(*(append(n) for n in range(10, 30))) == [True] * 20
    rows = await db.read(lambda c: [n for (n,) in c.execute("SELECT n FROM t WHERE n >= 10")])
    assert rows == list(range(10, 30))
    db.close()


async def test_a_failed_write_goes_to_its_caller_and_the_writer_carries_on(
    db: SQLiteThreads,
) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.write(lambda c: c.execute("INSERT INTO nowhere VALUES (1)"))
    await db.write(lambda c: c.execute("INSERT INTO t VALUES (3)"))
    assert await db.read(lambda c: c.execute("SELECT SUM(n) FROM t").fetchone()[0]) == 6
    db.close()


async def test_a_write_whose_caller_left_before_it_began_is_not_made(db: SQLiteThreads) -> None:
    started, release = threading.Event(), threading.Event()

    def blocking(c: sqlite3.Connection) -> None:
        started.set()
        release.wait(5)

    first = asyncio.ensure_future(db.write(blocking))
    await asyncio.to_thread(started.wait, 5)
    left = asyncio.ensure_future(db.write(lambda c: c.execute("INSERT INTO t VALUES (100)")))
    await asyncio.sleep(0)
    left.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await left
    await db.write(lambda c: None)  # the writer is past the one that was left
    assert await db.read(lambda c: c.execute("SELECT MAX(n) FROM t").fetchone()[0]) == 2
    db.close()


async def test_close_waits_for_the_writes_asked_before_it(tmp_path: Path) -> None:
    db = SQLiteThreads(tmp_path / "w.db", name="test")
    await db.write(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
    release = threading.Event()

    def slow(c: sqlite3.Connection) -> None:
        release.wait(5)
        c.execute("INSERT INTO t VALUES (7)")

    pending = asyncio.ensure_future(db.write(slow))
    await asyncio.sleep(0)
    threading.Timer(0.1, release.set).start()
    await asyncio.to_thread(db.close)
    await pending
    with pytest.raises(RuntimeError):
        await db.write(lambda c: None)
    check = sqlite3.connect(tmp_path / "w.db")
    assert check.execute("SELECT n FROM t").fetchall() == [(7,)]
    check.close()
