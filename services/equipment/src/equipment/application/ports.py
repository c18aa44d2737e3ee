"""What the equipment use cases need from outside: the customers' side, and checkpoints.

Both are protocols: customer-command answers `CustomerLedger` in the embedded composition
(customer_command.entrypoints.equipment_ledger), without either service importing the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID


class CustomerRecord(Protocol):
    """A customer as far as its equipment goes: what it lists, at which version."""

    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def position(self) -> int | None: ...

    @property
    def equipment_ids(self) -> frozenset[UUID]: ...


class CustomerLedger(Protocol):
    """The customers' own record of their equipment, kept by their own rules.

    Refusals are raised as `customerhub_shared.http.problems.Problem`, the answer the customer
    service gives over HTTP: 404 unknown, 409 (with `merged_into` for a merged customer) when
    archived, merged or anonymised, 410 deleted. Anything else (a conflict that outlived the
    retries, a store away) is an error to retry, never a refusal.
    """

    async def holding(self, customer_id: UUID) -> CustomerRecord | None: ...

    async def open_for_equipment(self, customer_id: UUID, *, receiving: bool) -> CustomerRecord:
        """The customer, if it may receive equipment now (`receiving=False`: let it go)."""
        ...

    async def receive(
        self,
        customer_id: UUID,
        equipment_ids: Sequence[UUID],
        *,
        actor: str,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        """List the items (no change for those listed already); refused as a whole.
        `causation_id`: the event the customer's record follows from."""
        ...

    async def release(
        self,
        customer_id: UUID,
        equipment_ids: Sequence[UUID],
        *,
        actor: str,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        """Stop listing the items; never refused."""
        ...

    async def has_location(self, customer_id: UUID, location_id: UUID) -> bool:
        """Whether the location is one of the customer's now."""
        ...

    async def place(
        self,
        customer_id: UUID,
        equipment_id: UUID,
        location_id: UUID | None,
        *,
        actor: str,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        """Record where a listed item stands; no change for an item it does not list."""
        ...


class Checkpoints(Protocol):
    """Named log positions, saved once the work before them is done."""

    async def get(self, name: str) -> int | None: ...

    async def save(self, name: str, position: int) -> None: ...
