"""One read shared by the callers that wait for it together: one trip to the store for many."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CoalescedRead(Generic[T]):
    """Callers arriving while a read is under way share one read.

    `fresh` (the default): each caller is answered by a read that started after it asked, as
    fresh as a read of its own; those arriving during a read share the next one, which starts
    once it is done. Not `fresh`: they join the read under way (for a value that rarely
    changes, where a read begun a moment earlier is as good and answers sooner).
    """

    def __init__(self, read: Callable[[], Awaitable[T]], *, fresh: bool = True) -> None:
        self._read = read
        self._fresh = fresh
        self._running: asyncio.Future[T] | None = None
        self._next: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if not self._fresh and self._running is not None and not self._running.done():
            return await asyncio.shield(self._running)
        if self._next is None:
            self._next = asyncio.ensure_future(self._read_after(self._running))
        # Shielded: a caller that goes away does not cancel the others' read.
        return await asyncio.shield(self._next)

    async def _read_after(self, running: asyncio.Future[T] | None) -> T:
        if running is not None and not running.done():
            await asyncio.wait([running])
        self._running, self._next = self._next, None
        return await self._read()
