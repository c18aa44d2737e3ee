"""A worker, a forked child, answers request after request with what it set up once, in the
child; its failure is told by type only; a worker whose answer is no longer awaited, that
died or that gave no answer in time is ended, not left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

import pytest

from customerhub_shared.forked import ForkedWorkFailed, Worker

SEEN: list[int] = []


def counting_worker() -> Callable[[bytes], bytes]:
    """Set up in the child: a count of the requests it answered, and its process id."""
    pid, answered = os.getpid(), [0]
    SEEN.append(pid)  # in the child's copy of the list

    def serve(request: bytes) -> bytes:
        if request == b"fail":
            raise ValueError("Claire Martin, +33 1 40 00 00 00")
        if request == b"sleep":
            time.sleep(60)
        answered[0] += 1
        return b"%d %d " % (pid, answered[0]) + request * 500_000

    return serve


async def test_a_worker_answers_request_after_request_with_what_it_set_up_once() -> None:
    worker = Worker.start(counting_worker)
    try:
        answers = [bytes(await worker.ask(b"%d" % n)) for n in range(3)]
    finally:
        worker.end()
    pids = {answer.split()[0] for answer in answers}
    assert pids == {str(worker.pid).encode()} and worker.pid != os.getpid()
    assert [answer.split()[1] for answer in answers] == [b"1", b"2", b"3"]
    assert answers[2].endswith(b"2" * 500_000)
    assert SEEN == [], "the parent's memory is its own"
    with pytest.raises(ChildProcessError):
        os.waitpid(worker.pid, os.WNOHANG)  # ended and reaped


async def test_a_failing_request_is_told_by_type_and_ends_the_worker() -> None:
    worker = Worker.start(counting_worker)
    with pytest.raises(ForkedWorkFailed) as failed:
        await worker.ask(b"fail")
    assert str(failed.value) == "ValueError"
    with pytest.raises(ChildProcessError):
        os.waitpid(worker.pid, os.WNOHANG)
    with pytest.raises(ForkedWorkFailed):
        await worker.ask(b"again")


async def test_a_worker_that_dies_or_gives_no_answer_in_time_fails_the_caller() -> None:
    dying = Worker.start(counting_worker)
    asking = asyncio.ensure_future(dying.ask(b"sleep"))
    await asyncio.sleep(0.2)
    os.kill(dying.pid, signal.SIGKILL)
    with pytest.raises(ForkedWorkFailed, match="the worker ended"):
        await asking
    slow = Worker.start(counting_worker)
    with pytest.raises(ForkedWorkFailed, match="no answer within 0.2 s"):
        await slow.ask(b"sleep", within=0.2)
    for worker in (dying, slow):
        with pytest.raises(ChildProcessError):
            os.waitpid(worker.pid, os.WNOHANG)


async def test_a_request_no_longer_awaited_ends_the_worker() -> None:
    worker = Worker.start(counting_worker)
    asking = asyncio.ensure_future(worker.ask(b"sleep"))
    await asyncio.sleep(0.05)
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    with pytest.raises(ChildProcessError):
        os.waitpid(worker.pid, os.WNOHANG)
