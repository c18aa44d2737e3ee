"""Named refusals: why an item said no. `code` is a stable slug the API puts in the problem type.

Families tell the edge how to answer: refused (409), not found (404).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar
from uuid import UUID


class EquipmentError(Exception):
    code: ClassVar[str] = "equipment-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CommandRefused(EquipmentError):
    """The command is well formed, but the items' current state forbids it."""

    code = "command-refused"


class EquipmentNotFound(EquipmentError):
    code = "equipment-not-found"

    def __init__(self, equipment_ids: Iterable[UUID]) -> None:
        self.equipment_ids = tuple(equipment_ids)
        super().__init__("no equipment " + ", ".join(map(str, self.equipment_ids)))


class EquipmentAlreadyRegistered(CommandRefused):
    code = "equipment-already-registered"

    def __init__(self, equipment_id: UUID) -> None:
        super().__init__(f"equipment {equipment_id} is already registered")
        self.equipment_id = equipment_id


class OwnedByAnotherCustomer(CommandRefused):
    """`assigned`: what the same request did give the customer before it lost a race."""

    code = "equipment-owned-by-another-customer"

    def __init__(self, owners: Mapping[UUID, UUID], *, assigned: Iterable[UUID] = ()) -> None:
        super().__init__(
            f"{len(owners)} item(s) belong to another customer; "
            'send "transfer": true to take them over'
        )
        self.owners = dict(owners)
        self.assigned = tuple(assigned)


class EquipmentNotOwned(CommandRefused):
    code = "equipment-not-owned"

    def __init__(self, equipment_id: UUID, customer_id: UUID) -> None:
        super().__init__(f"equipment {equipment_id} does not belong to customer {customer_id}")
        self.equipment_id = equipment_id


class LocationNotTheOwners(EquipmentError):
    code = "location-not-the-owners"

    def __init__(self, location_id: UUID, customer_id: UUID) -> None:
        super().__init__(f"customer {customer_id} has no location {location_id}")


class ReturnedByCustomer(CommandRefused):
    """Items were given to the customer, then handed back: it closed in the meantime."""

    code = "equipment-returned"

    def __init__(self, returned: Iterable[UUID], *, assigned: Iterable[UUID] = ()) -> None:
        self.returned = tuple(returned)
        self.assigned = tuple(assigned)
        super().__init__(
            f"the customer was archived, merged, anonymised or deleted while {len(self.returned)}"
            " item(s) were being assigned to it: they went back to their previous owners"
            " (a merged customer's to its survivor)"
        )
