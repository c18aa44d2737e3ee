"""Read-your-writes: wait, briefly, until the read model has caught up with a client's write."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

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
    waiting = wait_until(
        position, wanted, timeout=timeout, interval=interval, progressed=progressed, known=reached
    )
    reached = await waiting if head is None else await _unless_beyond_log(waiting, head, wanted)
    if reached < wanted:
        raise ReadModelBehind(wanted, reached)
    return reached


async def _unless_beyond_log(
    waiting: Coroutine[Any, Any, int], head: PositionSource, wanted: int
) -> int:
    """The wait, while the log's head is asked beside it: a position no event has reached is
    refused as soon as the head says so; one the read model reached needs no answer from it."""
    waited = asyncio.ensure_future(waiting)
    checked = asyncio.ensure_future(_refuse_beyond_log(head, wanted))
    try:
        done, _ = await asyncio.wait({waited, checked}, return_when=asyncio.FIRST_COMPLETED)
        if checked in done:
            checked.result()
            return await waited
        reached = waited.result()
        if reached < wanted:
            await checked
        return reached
    finally:
        waited.cancel()
        checked.cancel()


async def _refuse_beyond_log(head: PositionSource, wanted: int) -> None:
    last = await head() or 0
    if wanted > last:
        raise PositionBeyondLog(wanted, last)
