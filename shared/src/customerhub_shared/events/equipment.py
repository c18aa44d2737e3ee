"""Equipment events: the contract of the `equipment-<uuid>` streams (`customerhub.equipment.*`).

An item's stream is the record of who owns it: the `new_owner` of its latest
EquipmentOwnerChanged is its owner, and the chain of those events is its ownership history.
Customers appear only by id, so these events hold no personal data and need no key.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from customerhub_shared.events.base import DomainEvent

EQUIPMENT_DETAIL_FIELDS = (
    "name",
    "type",
    "brand",
    "model",
    "reference",
    "serial_number",
    "image_url",
    "business_unit",
    "description",
)

# assigned: to a customer, from no one; transferred: from another customer, asked for;
# unassigned: to no one; merged: from a merged duplicate to its survivor; compensated: given
# back because the new owner could not take it (closed meanwhile).
OwnerChangeReason = Literal["assigned", "transferred", "unassigned", "merged", "compensated"]


class EquipmentEvent(DomainEvent):
    aggregate: ClassVar[str] = "equipment"
    equipment_id: UUID


class EquipmentRegistered(EquipmentEvent):
    type_name: ClassVar[str] = "customerhub.equipment.registered.v1"
    name: str
    type: str | None = None
    brand: str | None = None
    model: str | None = None
    reference: str | None = None
    serial_number: str | None = None
    image_url: str | None = None
    business_unit: str | None = None
    # What and where it is, for the technician (not personal data: items hold none).
    description: str | None = None


class EquipmentDetailsChanged(EquipmentEvent):
    """Some of the item's fields changed; `changed` names them (None = cleared)."""

    type_name: ClassVar[str] = "customerhub.equipment.details_changed.v1"
    changed: tuple[str, ...]
    name: str | None = None
    type: str | None = None
    brand: str | None = None
    model: str | None = None
    reference: str | None = None
    serial_number: str | None = None
    image_url: str | None = None
    business_unit: str | None = None
    description: str | None = None


class EquipmentOwnerChanged(EquipmentEvent):
    """The item passed from `previous_owner` to `new_owner` (customer ids; None: no owner)."""

    type_name: ClassVar[str] = "customerhub.equipment.owner_changed.v1"
    previous_owner: UUID | None
    new_owner: UUID | None
    reason: OwnerChangeReason


class EquipmentLocated(EquipmentEvent):
    """The item now stands at `location_id`, one of its owner's locations (None: not said).

    A change of owner leaves it nowhere: the new owner's locations are others.
    """

    type_name: ClassVar[str] = "customerhub.equipment.located.v1"
    owner_id: UUID
    location_id: UUID | None


EQUIPMENT_EVENTS: tuple[type[DomainEvent], ...] = (
    EquipmentRegistered,
    EquipmentDetailsChanged,
    EquipmentOwnerChanged,
    EquipmentLocated,
)
