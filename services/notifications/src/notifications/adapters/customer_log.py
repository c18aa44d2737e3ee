"""Where a customer's stream ends in the event store, for requests that must see it first."""

from __future__ import annotations

from uuid import UUID

from customerhub_shared.events.customer import CustomerEvent
from customerhub_shared.eventstore import EventStore


async def customer_head(events: EventStore, customer_id: UUID) -> int | None:
    """The log position of the customer's last event; None when it has none."""
    stream = f"{CustomerEvent.aggregate}-{customer_id}"
    version = await events.stream_version(stream)
    if version == 0:
        return None
    last = await events.read_stream(stream, from_version=version - 1)
    return last[-1].position if last else None
