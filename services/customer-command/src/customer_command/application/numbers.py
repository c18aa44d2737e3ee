"""Customer numbers from a configurable number range (prefix + next number of the range).

The range is a stream whose version is the count of numbers handed out; numbers need not be
unique (DESIGN), but allocating through optimistic appends keeps them distinct anyway.
"""

from __future__ import annotations

from uuid import UUID

from customer_command.adapters.repository import EventWriter
from customer_command.application.context import CommandContext
from customerhub_shared.events.customer import CustomerNumberAllocated
from customerhub_shared.eventstore import ConcurrencyConflict

RANGE_STREAM = "number_range-customers"


class CustomerNumberRange:
    def __init__(self, writer: EventWriter, *, prefix: str, start: int) -> None:
        self._writer = writer
        self._prefix = prefix
        self._start = start

    async def allocate(self, customer_id: UUID, ctx: CommandContext) -> str:
        plain = CommandContext(actor=ctx.actor, correlation_id=ctx.correlation_id)
        while True:
            version = await self._writer.store.stream_version(RANGE_STREAM)
            number = f"{self._prefix}{self._start + version}"
            event = CustomerNumberAllocated(number=number, customer_id=customer_id)
            try:
                await self._writer.append(RANGE_STREAM, [event], plain, expected_version=version)
                return number
            except ConcurrencyConflict:
                continue
