"""Callers waiting together share one read, and each is answered by a read that started
after it asked: never by one already under way when it came."""

from __future__ import annotations

import asyncio

import pytest

from customerhub_shared.coalesced import CoalescedRead


class Head:
    """A log head that moves on between reads; each read waits until released."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self) -> int:
        self.reads += 1
        started_at = self.value
        await self.release.wait()
        self.release.clear()
        if self.fail:
            self.fail = False
            raise ConnectionError("store away")
        return started_at


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callers_arriving_together_share_one_read() -> None:
    head = Head()
    read = CoalescedRead(head)
    callers = [asyncio.ensure_future(read()) for _ in range(5)]
    await _settle()
    head.release.set()
    assert await asyncio.gather(*callers) == [0] * 5
    assert head.reads == 1


async def test_a_caller_arriving_during_a_read_gets_the_next_one() -> None:
    head = Head()
    read = CoalescedRead(head)
    first = asyncio.ensure_future(read())
    await _settle()
    head.value = 7  # appended after the first read started
    later = [asyncio.ensure_future(read()) for _ in range(3)]
    await _settle()
    assert head.reads == 1  # the next read waits for the one under way
    head.release.set()
    assert await first == 0
    await _settle()
    head.release.set()
    assert await asyncio.gather(*later) == [7, 7, 7]
    assert head.reads == 2


async def test_a_failed_read_fails_its_callers_only() -> None:
    head = Head()
    read = CoalescedRead(head)
    head.fail = True
    failing = asyncio.ensure_future(read())
    await _settle()
    head.release.set()
    with pytest.raises(ConnectionError):
        await failing
    head.value = 3
    answer = asyncio.ensure_future(read())
    await _settle()
    head.release.set()
    assert await answer == 3


async def test_a_caller_going_away_does_not_cancel_the_others_read() -> None:
    head = Head()
    read = CoalescedRead(head)
    leaving, staying = asyncio.ensure_future(read()), asyncio.ensure_future(read())
    await _settle()
    leaving.cancel()
    await _settle()
    head.release.set()
    assert await staying == 0


async def test_for_a_value_that_rarely_changes_a_caller_joins_the_read_under_way() -> None:
    head = Head()
    read = CoalescedRead(head, fresh=False)
    first = asyncio.ensure_future(read())
    await _settle()
    head.value = 7
    joining = asyncio.ensure_future(read())
    await _settle()
    head.release.set()
    assert (await first, await joining) == (0, 0)
    assert head.reads == 1
