"""Customers loaded from and saved to their event streams (`customer-<uuid>`)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from customer_command.application.context import CommandContext, CustomerNotFound
from customer_command.domain.customer import Customer
from customerhub_shared.events import DomainEvent, Envelope
from customerhub_shared.events.customer import CustomerEvent
from customerhub_shared.eventstore import AppendResult, EventStore
from customerhub_shared.ids import new_event_id
from customerhub_shared.keyring import KeyDestroyed, KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.tracing import appending

_IDEMPOTENT_EVENTS = uuid.UUID("4f7d2a52-5a8e-4b53-9d7e-3c1a9f0b6e21")


@dataclass(slots=True)
class LoadedCustomer:
    customer: Customer
    position: int


def customer_stream(customer_id: UUID) -> str:
    return f"customer-{customer_id}"


class EventWriter:
    """Turns domain events into stored events for one stream, with their metadata and keys."""

    def __init__(self, store: EventStore, mapper: EventMapper, keyring: KeyRing) -> None:
        self.store = store
        self.mapper = mapper
        self.keyring = keyring

    async def append(
        self,
        stream: str,
        events: Sequence[DomainEvent],
        ctx: CommandContext,
        *,
        expected_version: int | None,
        key_subject: UUID | None = None,
        key: bytes | None = None,
        traced: bool = True,
    ) -> AppendResult:
        """`traced`: the append has a span of its own (bookkeeping appends need none: their
        events carry the request's trace context all the same). `key`: the subject's key,
        made beforehand by `subject_key`."""
        with appending(stream, events) if traced else contextlib.nullcontext():
            key = key if key is not None else await self.subject_key(key_subject)
            metadata = ctx.metadata()
            new_events = [
                self.mapper.to_new_event(
                    event, metadata, key=key, event_id=idempotent_event_id(ctx, stream, n)
                )
                for n, event in enumerate(events)
            ]
            return await self.store.append(stream, new_events, expected_version=expected_version)

    async def read(self, stream: str, *, key_subject: UUID | None = None) -> list[Envelope]:
        recorded = await self.store.read_stream(stream)
        key = await self.keyring.key_for(key_subject) if key_subject and recorded else None
        return [self.mapper.to_envelope(event, key=key) for event in recorded]

    async def subject_key(self, subject: UUID | None) -> bytes | None:
        """The subject's key, made now unless it exists; None once destroyed."""
        if subject is None:
            return None
        try:
            return await self.keyring.create_key(subject)
        except KeyDestroyed:
            return None


def idempotent_event_id(ctx: CommandContext, stream: str, n: int) -> UUID:
    """The id of the n-th event a command appends to `stream`: a retried request (same actor,
    operation and Idempotency-Key) produces the same ids, so a retry after a crash between
    append and answer cannot append the events twice."""
    if ctx.idempotency_key is None:
        return new_event_id()
    scope = f"{ctx.actor}\x1f{ctx.operation}\x1f{ctx.idempotency_key}"
    return uuid.uuid5(_IDEMPOTENT_EVENTS, f"{scope}\x1f{stream}\x1f{n}")


class CustomerRepository:
    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer

    async def find(self, customer_id: UUID) -> LoadedCustomer | None:
        history = await self.writer.read(customer_stream(customer_id), key_subject=customer_id)
        if not history:
            return None
        events = [cast(CustomerEvent, envelope.event) for envelope in history]
        return LoadedCustomer(Customer.replay(events), history[-1].position)

    async def get(self, customer_id: UUID) -> LoadedCustomer:
        loaded = await self.find(customer_id)
        if loaded is None:
            raise CustomerNotFound(customer_id)
        return loaded

    async def key(self, customer_id: UUID) -> bytes | None:
        """The customer's key, made now unless it exists (None once destroyed)."""
        return await self.writer.subject_key(customer_id)

    async def save(
        self, customer: Customer, ctx: CommandContext, *, key: bytes | None = None
    ) -> AppendResult | None:
        """`key`: the customer's key when the caller made it already (see `key`)."""
        if not customer.pending:
            return None
        expected = customer.version - len(customer.pending)
        result = await self.writer.append(
            customer_stream(customer.id),
            customer.pending,
            ctx,
            expected_version=expected,
            key_subject=customer.id,
            key=key,
        )
        customer.pending.clear()
        return result
