"""Catch-up-then-live following of a global log, for stores that can only be polled or nudged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from customerhub_shared.eventstore.port import RecordedEvent

ReadAll = Callable[..., Awaitable[list[RecordedEvent]]]


async def follow_log(
    read_all: ReadAll,
    wait_for_more: Callable[[], Awaitable[None]],
    *,
    after: int | None,
    batch_size: int = 500,
) -> AsyncIterator[RecordedEvent]:
    """Yield every event after `after` in log order, then wait for new ones, for ever."""
    checkpoint = after
    while True:
        batch = await read_all(after=checkpoint, limit=batch_size)
        for event in batch:
            yield event
            checkpoint = event.position
        if len(batch) < batch_size:
            await wait_for_more()
