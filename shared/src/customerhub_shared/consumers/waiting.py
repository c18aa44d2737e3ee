"""Waiting, briefly, until a consumer has reached a log position: the one waiter behind every
freshness check (`min_position`, `X-Min-Position`, the reconciler's hand-over)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

PositionSource = Callable[[], Awaitable[int | None]]
# Returns when the consumer may have moved, or after the given seconds at the latest.
Progress = Callable[[float], Awaitable[None]]
POLL_INTERVAL_SECONDS = 0.02


class Progressed:
    """Wakes this process's waiters as soon as a batch is done, rather than at the next poll
    (a consumer in another process is only polled for)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def signal(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()


async def wait_for_position(
    position: PositionSource,
    wanted: int | None,
    *,
    timeout: float,
    progressed: Progress = asyncio.sleep,
    interval: float = POLL_INTERVAL_SECONDS,
    known: int | None = None,
) -> int:
    """The consumer's position (0 before its first batch) once at `wanted` or beyond, or as far
    as it got when `timeout` ran out: the caller compares. `known`: a position just read."""
    reached = known if known is not None else await position() or 0
    if wanted is None:
        return reached
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while reached < wanted:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await progressed(min(interval, remaining))
        reached = await position() or 0
    return reached
