"""Name uniqueness among active customers: one reservation stream per normalised name.

Two concurrent creates of the same name both append to the same reservation stream with
the same expected version, so exactly one wins; the loser is refused (or, in "warn" mode,
created with a warning). A reservation is held while its holder bears the name, or while it
is younger than a short lease (its create or rename is still in flight); after that, one
left by a crashed request is stale and the next claimant takes it over.

Streams are named by an HMAC of the name under a secret the keyring holds, so reading the
event store alone cannot confirm a guessed name. Streams named by the plain SHA-256 of
earlier versions are still read (never written), so names reserved before keep their owner.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

from customer_command.adapters.repository import EventWriter
from customer_command.application.context import CommandContext
from customerhub_shared.events.customer import CustomerNameReleased, CustomerNameReserved
from customerhub_shared.eventstore import ConcurrencyConflict
from customerhub_shared.keyring import KeyRing

HoldsName = Callable[[UUID, str], Awaitable[bool]]
LEASE = timedelta(seconds=30)
# The keyring subject whose key is the reservations' secret (never a customer, never destroyed).
RESERVATION_SECRET_SUBJECT = uuid5(UUID(int=0), "customerhub.customer_name.reservations")


class NameTaken(Exception):
    def __init__(self, holder_id: UUID) -> None:
        super().__init__(f"an active customer ({holder_id}) already has this name")
        self.holder_id = holder_id


def reservation_stream(name_key: str, secret: bytes) -> str:
    digest = hmac.new(secret, name_key.encode(), hashlib.sha256).hexdigest()
    return f"customer_name-{digest[:40]}"


def legacy_reservation_stream(name_key: str) -> str:
    """How streams were named before the keyed hash: read only, for names held since then."""
    return f"customer_name-{hashlib.sha256(name_key.encode()).hexdigest()[:40]}"


class NameReservations:
    def __init__(
        self,
        writer: EventWriter,
        holds_name: HoldsName,
        keyring: KeyRing,
        *,
        lease: timedelta = LEASE,
    ) -> None:
        self._writer = writer
        self._holds_name = holds_name
        self._keyring = keyring
        self._secret: bytes | None = None
        self._lease = lease

    async def _stream(self, name_key: str) -> str:
        if self._secret is None:
            # Every replica gets the same key: the keyring makes it once and keeps it.
            self._secret = await self._keyring.create_key(RESERVATION_SECRET_SUBJECT)
        return reservation_stream(name_key, self._secret)

    async def holder(self, name_key: str) -> UUID | None:
        """The active customer that bears this name now, if any."""
        holder, _ = await self._current(name_key)
        return holder

    async def reserve(self, name_key: str, customer_id: UUID, ctx: CommandContext) -> None:
        stream = await self._stream(name_key)
        if await self._first_claim(stream, name_key, customer_id, ctx):
            return
        for _ in range(10):
            holder, version = await self._current(name_key)
            if holder == customer_id:
                return
            if holder is not None:
                raise NameTaken(holder)
            event = CustomerNameReserved(customer_id=customer_id)
            try:
                await self._writer.append(
                    stream, [event], _plain(ctx), expected_version=version, traced=False
                )
                return
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(stream, None, -1)

    async def _first_claim(
        self, stream: str, name_key: str, customer_id: UUID, ctx: CommandContext
    ) -> bool:
        """Most names are new: append as the stream's first event without reading it first
        (a stream already there is a conflict, and the full look decides)."""
        if await self._legacy_holder(name_key) is not None:
            return False
        event = CustomerNameReserved(customer_id=customer_id)
        try:
            await self._writer.append(
                stream, [event], _plain(ctx), expected_version=0, traced=False
            )
        except ConcurrencyConflict:
            return False
        return True

    async def release(self, name_key: str, customer_id: UUID, ctx: CommandContext) -> None:
        stream = await self._stream(name_key)
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
        history = await self._writer.read(await self._stream(name_key))
        if not history:
            return await self._legacy_holder(name_key), 0
        last = history[-1]
        if isinstance(last.event, CustomerNameReserved) and (
            last.recorded_at > datetime.now(UTC) - self._lease
            or await self._holds_name(last.event.customer_id, name_key)
        ):
            return last.event.customer_id, len(history)
        return None, len(history)

    async def _legacy_holder(self, name_key: str) -> UUID | None:
        """The holder of a reservation made before the keyed hash, while it bears the name."""
        history = await self._writer.read(legacy_reservation_stream(name_key))
        last = history[-1].event if history else None
        if isinstance(last, CustomerNameReserved) and await self._holds_name(
            last.customer_id, name_key
        ):
            return last.customer_id
        return None


def _plain(ctx: CommandContext) -> CommandContext:
    # Reservation events are bookkeeping, not part of the customer's idempotent answer.
    return CommandContext(
        actor=ctx.actor, correlation_id=ctx.correlation_id, causation_id=ctx.causation_id
    )
