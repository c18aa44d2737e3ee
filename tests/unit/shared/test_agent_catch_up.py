"""A consumer's catch-up from the event store can take long; a stop request must cut it short
(a service's shutdown, a SIGTERM to `customerhub consume`), and a finished one must say so."""

from __future__ import annotations

import asyncio

import pytest

from customerhub_shared.bus.agents import _unless_stopped


async def test_a_stop_cuts_a_long_catch_up_short() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def endless() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    asyncio.get_running_loop().call_later(0.05, stop.set)
    assert await asyncio.wait_for(_unless_stopped(endless(), stop), timeout=5) is False
    assert cancelled.is_set()


async def test_a_finished_catch_up_goes_on_and_its_failure_is_raised() -> None:
    stop = asyncio.Event()

    async def quick() -> int:
        return 3

    async def failing() -> None:
        raise RuntimeError("event store away")

    assert await _unless_stopped(quick(), stop) is True
    with pytest.raises(RuntimeError, match="event store away"):
        await _unless_stopped(failing(), stop)
