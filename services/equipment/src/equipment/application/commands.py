"""Commands: what office staff ask of the equipment registry, one frozen dataclass each."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from equipment.domain.values import EquipmentPatch, NewEquipment


@dataclass(frozen=True)
class RegisterEquipment:
    equipment_id: UUID
    details: NewEquipment


@dataclass(frozen=True)
class ChangeEquipmentDetails:
    equipment_id: UUID
    patch: EquipmentPatch


@dataclass(frozen=True)
class AssignEquipment:
    """Give the items to the customer; taking one from another customer needs `transfer`."""

    customer_id: UUID
    equipment_ids: tuple[UUID, ...]
    transfer: bool = False


@dataclass(frozen=True)
class UnassignEquipment:
    customer_id: UUID
    equipment_id: UUID


@dataclass(frozen=True)
class PlaceEquipment:
    """Say at which of its owner's locations an item stands (None: at none said)."""

    customer_id: UUID
    equipment_id: UUID
    location_id: UUID | None


EquipmentCommand = (
    RegisterEquipment
    | ChangeEquipmentDetails
    | AssignEquipment
    | UnassignEquipment
    | PlaceEquipment
)
