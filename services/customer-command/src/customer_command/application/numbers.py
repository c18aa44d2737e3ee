"""Customer numbers from a configurable number range (prefix + next number of the range).

A process reserves a block of the range with one optimistic append to the range's stream,
then hands its numbers out locally: creates do not all contend on one stream. Numbers need
not be unique (DESIGN) but stay distinct; a block's unused rest is skipped after a restart.
"""

from __future__ import annotations

import asyncio
from collections import deque

from customer_command.adapters.repository import EventWriter
from customer_command.application.context import CommandContext
from customerhub_shared.events.customer import CustomerNumbersReserved
from customerhub_shared.eventstore import ConcurrencyConflict

RANGE_STREAM = "number_range-customers"
SUPPLIER_RANGE_STREAM = "number_range-suppliers"


class CustomerNumberRange:
    def __init__(
        self,
        writer: EventWriter,
        *,
        prefix: str,
        start: int,
        block_size: int = 50,
        stream: str = RANGE_STREAM,
    ) -> None:
        self._writer = writer
        self._stream = stream
        self._prefix = prefix
        self._start = start
        self._block_size = block_size
        self._free: deque[int] = deque()
        self._lock = asyncio.Lock()

    async def allocate(self, ctx: CommandContext) -> str:
        async with self._lock:
            if not self._free:
                self._free.extend(await self._reserve_block(ctx))
            return f"{self._prefix}{self._free.popleft()}"

    async def _reserve_block(self, ctx: CommandContext) -> range:
        plain = CommandContext(
            actor=ctx.actor, correlation_id=ctx.correlation_id, causation_id=ctx.causation_id
        )
        while True:
            version = await self._writer.store.stream_version(self._stream)
            first = self._start + version * self._block_size
            event = CustomerNumbersReserved(first=first, count=self._block_size)
            try:
                await self._writer.append(
                    self._stream, [event], plain, expected_version=version, traced=False
                )
            except ConcurrencyConflict:
                continue
            return range(first, first + self._block_size)
