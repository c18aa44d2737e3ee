"""One read shared by the callers that wait for it together, each answered by a read that
started after it asked: as fresh as a read of its own, for one trip to the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CoalescedRead(Generic[T]):
    """Callers arriving while a read is under way share the next one, which starts once it
    is done (a read under way may have started before they asked)."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._running: asyncio.Future[T] | None = None
        self._next: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if self._next is None:
            self._next = asyncio.ensure_future(self._read_after(self._running))
        # Shielded: a caller that goes away does not cancel the others' read.
        return await asyncio.shield(self._next)

    async def _read_after(self, running: asyncio.Future[T] | None) -> T:
        if running is not None and not running.done():
            await asyncio.wait([running])
        self._running, self._next = self._next, None
        return await self._read()
