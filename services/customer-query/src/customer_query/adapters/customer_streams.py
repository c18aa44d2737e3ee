"""A customer's own stream, read from the event store and decrypted with its key if it has one.

History and "as of" answers come from here, never from the read model: the log is the record.
"""

from __future__ import annotations

from uuid import UUID

from customerhub_shared.events import Envelope
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper


def customer_stream(customer_id: UUID) -> str:
    return f"customer-{customer_id}"


class CustomerStreams:
    def __init__(self, events: EventStore, mapper: EventMapper, keyring: KeyRing) -> None:
        self._events = events
        self._mapper = mapper
        self._keyring = keyring

    async def version(self, customer_id: UUID) -> int:
        """How many events the customer's stream holds; 0 for an unknown customer."""
        return await self._events.stream_version(customer_stream(customer_id))

    async def recorded(self, customer_id: UUID) -> list[RecordedEvent]:
        """The stream's events as stored: sealed, with their chain hashes."""
        return await self._events.read_stream(customer_stream(customer_id))

    async def read(self, customer_id: UUID, *, from_version: int = 0) -> list[Envelope]:
        """The stream's events from revision `from_version` on, oldest first."""
        recorded = await self._events.read_stream(
            customer_stream(customer_id), from_version=from_version
        )
        if not recorded:
            return []
        # Without a key (anonymised or deleted) personal fields read back as None.
        key = await self._keyring.key_for(customer_id)
        return [self._mapper.to_envelope(event, key=key) for event in recorded]
