"""Name uniqueness among active customers: one reservation stream per normalised name.

Two concurrent creates of the same name both append to the same reservation stream with
the same expected version, so exactly one wins; the loser is refused (or, in "warn" mode,
created with a warning). A reservation is held while its holder bears the name, or while it
is younger than a short lease (its create or rename is still in flight); after that, one
left by a crashed request is stale and the next claimant takes it over.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from customer_command.adapters.repository import EventWriter
from customer_command.application.context import CommandContext
from customerhub_shared.events.customer import CustomerNameReleased, CustomerNameReserved
from customerhub_shared.eventstore import ConcurrencyConflict

HoldsName = Callable[[UUID, str], Awaitable[bool]]
LEASE = timedelta(seconds=30)


class NameTaken(Exception):
    def __init__(self, holder_id: UUID) -> None:
        super().__init__(f"an active customer ({holder_id}) already has this name")
        self.holder_id = holder_id


def reservation_stream(name_key: str) -> str:
    return f"customer_name-{hashlib.sha256(name_key.encode()).hexdigest()[:40]}"


class NameReservations:
    def __init__(
        self, writer: EventWriter, holds_name: HoldsName, *, lease: timedelta = LEASE
    ) -> None:
        self._writer = writer
        self._holds_name = holds_name
        self._lease = lease

    async def holder(self, name_key: str) -> UUID | None:
        """The active customer that bears this name now, if any."""
        holder, _ = await self._current(name_key)
        return holder

    async def reserve(self, name_key: str, customer_id: UUID, ctx: CommandContext) -> None:
        stream = reservation_stream(name_key)
        for _ in range(10):
            holder, version = await self._current(name_key)
            if holder == customer_id:
                return
            if holder is not None:
                raise NameTaken(holder)
            event = CustomerNameReserved(customer_id=customer_id)
            try:
                await self._writer.append(stream, [event], _plain(ctx), expected_version=version)
                return
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(stream, None, -1)

    async def release(self, name_key: str, customer_id: UUID, ctx: CommandContext) -> None:
        stream = reservation_stream(name_key)
        history = await self._writer.read(stream)
        last = history[-1].event if history else None
        if isinstance(last, CustomerNameReserved) and last.customer_id == customer_id:
            event = CustomerNameReleased(customer_id=customer_id)
            # A conflict means someone took the name over meanwhile: nothing left to release.
            with contextlib.suppress(ConcurrencyConflict):
                await self._writer.append(
                    stream, [event], _plain(ctx), expected_version=len(history)
                )

    async def _current(self, name_key: str) -> tuple[UUID | None, int]:
        history = await self._writer.read(reservation_stream(name_key))
        if not history:
            return None, 0
        last = history[-1]
        if isinstance(last.event, CustomerNameReserved) and (
            last.recorded_at > datetime.now(UTC) - self._lease
            or await self._holds_name(last.event.customer_id, name_key)
        ):
            return last.event.customer_id, len(history)
        return None, len(history)


def _plain(ctx: CommandContext) -> CommandContext:
    # Reservation events are bookkeeping, not part of the customer's idempotent answer.
    return CommandContext(
        actor=ctx.actor, correlation_id=ctx.correlation_id, causation_id=ctx.causation_id
    )
