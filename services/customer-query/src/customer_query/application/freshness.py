"""Read-your-writes: wait, briefly, until the read model has caught up with a client's write."""

from __future__ import annotations

import asyncio

from customer_query.application.errors import PositionBeyondLog, ReadModelBehind
from customerhub_shared.consumers.waiting import POLL_INTERVAL_SECONDS, PositionSource, Progress
from customerhub_shared.consumers.waiting import wait_for_position as wait_until


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
    reached = await position() or 0
    if wanted is None or reached >= wanted:
        return reached  # the usual read-your-write: no need to ask the log's head
    if head is not None:
        last = await head() or 0
        if wanted > last:
            raise PositionBeyondLog(wanted, last)
    reached = await wait_until(
        position, wanted, timeout=timeout, interval=interval, progressed=progressed, known=reached
    )
    if wanted is not None and reached < wanted:
        raise ReadModelBehind(wanted, reached)
    return reached
