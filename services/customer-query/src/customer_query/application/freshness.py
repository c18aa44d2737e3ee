"""Read-your-writes: wait, briefly, until the read model has caught up with a client's write."""

from __future__ import annotations

from customer_query.application.errors import ReadModelBehind
from customerhub_shared.consumers.waiting import POLL_INTERVAL_SECONDS, PositionSource
from customerhub_shared.consumers.waiting import wait_for_position as wait_until


async def wait_for_position(
    position: PositionSource,
    wanted: int | None,
    *,
    timeout: float,
    interval: float = POLL_INTERVAL_SECONDS,
) -> int:
    """The checkpoint once it is at `wanted` or beyond; ReadModelBehind after `timeout`."""
    reached = await wait_until(position, wanted, timeout=timeout, interval=interval)
    if wanted is not None and reached < wanted:
        raise ReadModelBehind(wanted, reached)
    return reached
