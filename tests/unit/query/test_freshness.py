"""Read-your-writes: a query waits for the read model to reach the client's position, briefly."""

from __future__ import annotations

import asyncio

import pytest

from customer_query.application.errors import PositionBeyondLog, ReadModelBehind
from customer_query.application.freshness import wait_for_position


class Checkpoint:
    """A read model that advances by `step` each time it is asked."""

    def __init__(self, start: int | None, step: int = 0) -> None:
        self.value = start
        self.step = step
        self.asked = 0

    async def __call__(self) -> int | None:
        self.asked += 1
        current = self.value
        if self.value is not None:
            self.value += self.step
        return current


async def test_without_a_wanted_position_the_current_one_is_answered_at_once() -> None:
    checkpoint = Checkpoint(7)
    assert await wait_for_position(checkpoint, None, timeout=1) == 7
    assert checkpoint.asked == 1


async def test_an_empty_read_model_is_at_position_zero() -> None:
    assert await wait_for_position(Checkpoint(None), None, timeout=1) == 0


async def test_waits_until_the_read_model_catches_up() -> None:
    checkpoint = Checkpoint(10, step=1)
    assert await wait_for_position(checkpoint, 13, timeout=1, interval=0.001) == 13
    assert checkpoint.asked == 4


async def test_gives_up_after_the_timeout() -> None:
    with pytest.raises(ReadModelBehind) as behind:
        await wait_for_position(Checkpoint(3), 5, timeout=0.05, interval=0.01)
    assert behind.value.wanted == 5 and behind.value.reached == 3


async def test_a_projector_write_ends_the_wait_before_the_interval() -> None:
    checkpoint = Checkpoint(10, step=1)
    heard: list[float] = []

    async def progressed(within: float) -> None:
        heard.append(within)  # a write already happened: no waiting

    reached = await wait_for_position(checkpoint, 12, timeout=0.5, progressed=progressed)
    assert reached == 12 and heard == [0.02, 0.02]


async def test_a_position_beyond_the_log_is_refused_without_waiting_out_the_timeout() -> None:
    async def head() -> int:
        return 8

    started = asyncio.get_running_loop().time()
    with pytest.raises(PositionBeyondLog):
        await wait_for_position(Checkpoint(3), 9, timeout=5, interval=0.01, head=head)
    assert asyncio.get_running_loop().time() - started < 1


async def test_a_reached_position_does_not_wait_for_the_logs_head() -> None:
    slow_head = asyncio.Event()

    async def head() -> int:
        await slow_head.wait()  # never answers
        return 20

    reached = await asyncio.wait_for(
        wait_for_position(Checkpoint(10, step=1), 12, timeout=1, interval=0.001, head=head), 1
    )
    assert reached == 12
