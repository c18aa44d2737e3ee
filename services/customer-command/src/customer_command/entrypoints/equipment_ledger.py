"""The customers' side of equipment ownership, offered to the equipment service in-process.

An item's own stream decides who owns it; this records those decisions on the customers, under
the customers' own rules. A refusal is raised as the problem customer-command answers over
HTTP (404, 409 with `merged_into`, 410), so an HTTP client of this service would see the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

from customer_command.adapters.repository import LoadedCustomer
from customer_command.application import commands as c
from customer_command.application.context import CommandContext, CustomerNotFound
from customer_command.application.handlers import CustomerPorts, handle
from customer_command.domain.errors import DomainError
from customer_command.entrypoints.http.problems import problem_for


@dataclass(frozen=True, slots=True)
class EquipmentHolder:
    """A customer as far as its equipment goes: what it lists, at which version."""

    id: UUID
    version: int
    position: int | None
    equipment_ids: frozenset[UUID]


def _holder(loaded: LoadedCustomer) -> EquipmentHolder:
    customer = loaded.customer
    return EquipmentHolder(
        customer.id, customer.version, loaded.position, frozenset(customer.equipment_ids)
    )


@contextmanager
def _as_problems() -> Iterator[None]:
    # Only refusals become problems; a conflict that outlived the retries stays what it is.
    try:
        yield
    except (DomainError, CustomerNotFound) as refusal:
        problem = problem_for(refusal)
        assert problem is not None
        raise problem from refusal


class EquipmentLedger:
    def __init__(self, ports: CustomerPorts) -> None:
        self._ports = ports

    async def holding(self, customer_id: UUID) -> EquipmentHolder | None:
        """What the customer lists now; None for an unknown customer."""
        loaded = await self._ports.customers.find(customer_id)
        return None if loaded is None else _holder(loaded)

    async def open_for_equipment(self, customer_id: UUID, *, receiving: bool) -> EquipmentHolder:
        """The customer, if it may receive equipment now (or, `receiving=False`, let it go)."""
        with _as_problems():
            loaded = await self._ports.customers.get(customer_id)
            if receiving:
                loaded.customer.ensure_can_receive_equipment()
            else:
                loaded.customer.ensure_can_release_equipment()
        return _holder(loaded)

    async def receive(
        self,
        customer_id: UUID,
        equipment_ids: Sequence[UUID],
        *,
        actor: str,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        """List the items (those listed already: no change); refused as a whole if closed."""
        ctx = CommandContext(actor, correlation_id, causation_id=causation_id)
        with _as_problems():
            await handle(c.ReceiveEquipment(customer_id, tuple(equipment_ids)), ctx, self._ports)

    async def release(
        self,
        customer_id: UUID,
        equipment_ids: Sequence[UUID],
        *,
        actor: str,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        """Stop listing the items; never refused (an unknown customer lists nothing)."""
        ctx = CommandContext(actor, correlation_id, causation_id=causation_id)
        try:
            await handle(c.ReleaseEquipment(customer_id, tuple(equipment_ids)), ctx, self._ports)
        except CustomerNotFound:
            return

    async def has_location(self, customer_id: UUID, location_id: UUID) -> bool:
        loaded = await self._ports.customers.find(customer_id)
        return loaded is not None and location_id in loaded.customer.locations

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
        """Where a listed item stands; nothing for an item it no longer lists or a closed
        customer (a later owner change cleared the location anyway)."""
        ctx = CommandContext(actor, correlation_id, causation_id=causation_id)
        try:
            await handle(c.PlaceEquipment(customer_id, equipment_id, location_id), ctx, self._ports)
        except CustomerNotFound:
            return
