"""Work in a forked child: its bytes come back; its failure is told by type only; a child
whose answer is no longer awaited is ended, not left behind."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from customerhub_shared.forked import ForkedWorkFailed, run_forked, start_forked


async def test_the_childs_bytes_come_back_and_the_parent_is_unchanged() -> None:
    seen: list[int] = []

    def work() -> bytes:
        seen.append(os.getpid())  # in the child's copy of the list
        return b"x" * 3_000_000 + str(os.getpid()).encode()

    answer = await run_forked(work)
    assert answer.startswith(b"x" * 3_000_000) and answer[3_000_000:] != str(os.getpid()).encode()
    assert seen == []


async def test_a_failure_in_the_child_is_told_by_its_type_without_its_message() -> None:
    def work() -> bytes:
        raise ValueError("Claire Martin, +33 1 40 00 00 00")

    with pytest.raises(ForkedWorkFailed) as failed:
        await run_forked(work)
    assert str(failed.value) == "ValueError"


async def test_a_child_no_longer_awaited_is_killed_and_reaped() -> None:
    def work() -> bytes:
        time.sleep(60)
        return b""

    child = start_forked(work)
    waiting = asyncio.ensure_future(child.answer())
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # reaped already
    never_awaited = start_forked(work)
    never_awaited.abandon()
    with pytest.raises(ChildProcessError):
        os.waitpid(never_awaited.pid, os.WNOHANG)


async def test_a_child_that_gives_no_answer_in_time_fails_the_caller_and_is_reaped() -> None:
    def work() -> bytes:
        time.sleep(60)
        return b""

    child = start_forked(work)
    with pytest.raises(ForkedWorkFailed, match="no answer within 0.2 s"):
        await child.answer(within=0.2)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)
