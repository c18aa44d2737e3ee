"""Read-your-writes: wait, briefly, until the read model has caught up with a client's write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from customer_query.application.errors import PositionBeyondLog, ReadModelBehind

PositionSource = Callable[[], Awaitable[int | None]]
# Returns when the read model may have moved, or after the given seconds at the latest.
Progress = Callable[[float], Awaitable[None]]
POLL_INTERVAL_SECONDS = 0.02


async def current_position(position: PositionSource) -> int:
    """The read model's checkpoint; 0 while it has projected nothing."""
    return await position() or 0


async def wait_for_position(
    position: PositionSource,
    wanted: int | None,
    *,
    timeout: float,
    head: PositionSource | None = None,
    interval: float = POLL_INTERVAL_SECONDS,
    progressed: Progress = asyncio.sleep,
) -> int:
    """The checkpoint once it is at `wanted` or beyond; ReadModelBehind after `timeout`,
    PositionBeyondLog at once when the log (`head`) has not got that far.

    Between looks it waits `interval`, or less where `progressed` hears of the projector's
    writes (a projector in this process), so an answer does not wait for the next look.
    """
    reached = await current_position(position)
    if wanted is None or reached >= wanted:
        return reached
    last = None if head is None else await head()
    if head is not None and wanted > (last or 0):
        raise PositionBeyondLog(wanted, last or 0)
    deadline = asyncio.get_running_loop().time() + timeout
    while reached < wanted:
        if asyncio.get_running_loop().time() >= deadline:
            raise ReadModelBehind(wanted, reached)
        await progressed(interval)
        reached = await current_position(position)
    return reached
