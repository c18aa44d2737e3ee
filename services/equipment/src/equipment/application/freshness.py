"""Waiting, briefly, until a log follower (a projector, the reconciler) has reached a position."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

PositionSource = Callable[[], Awaitable[int | None]]
POLL_INTERVAL_SECONDS = 0.01


async def reached(
    position: PositionSource,
    wanted: int,
    *,
    timeout: float,
    interval: float = POLL_INTERVAL_SECONDS,
) -> bool:
    """Whether the follower's checkpoint gets to `wanted` within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await position() or 0) < wanted:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True
