"""Wake-up hints for other processes' followers, sent after an append has committed.

A NOTIFY inside the append's transaction would hold PostgreSQL's notify lock through that
commit's WAL flush, so durable appends would commit one at a time. Sent afterwards on a
connection of its own, a burst of appends costs one NOTIFY, and commits group as usual.
A hint lost to a crash between commit and NOTIFY only delays followers to their next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Send = Callable[[int], Awaitable[None]]


class Wakeups:
    """Coalesces positions to announce: at most one NOTIFY in flight, for the newest one."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._newest: int | None = None
        self._sent: int | None = None
        self._pending = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def announce(self, position: int) -> None:
        if self._newest is None or position > self._newest:
            self._newest = position
        self._pending.set()
        if self._task is None:
            self._task = asyncio.create_task(self._serve(), name="eventstore-notify")

    async def close(self) -> None:
        """Send what is still pending, then stop (not by cancelling: a NOTIFY cancelled
        midway could leave its pooled connection in use)."""
        if self._task is None:
            return
        self._closing = True
        self._pending.set()
        await self._task
        self._task = None

    async def _serve(self) -> None:
        while not self._closing or self._pending.is_set():
            await self._pending.wait()
            await self._send_newest()

    async def _send_newest(self) -> None:
        self._pending.clear()
        newest = self._newest
        if newest is None or newest == self._sent:
            return
        self._sent = newest
        try:
            await self._send(newest)
        except Exception as error:  # followers elsewhere fall back to polling
            log.warning("could not notify followers of new events: %s", error)
