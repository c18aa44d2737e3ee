"""The Equipment aggregate: one item, what it is, and which customer owns it.

Its stream (`equipment-<uuid>`) is the one record of ownership: an item has at most one
owner, since every owner change is decided on the item's current state and appended at the
version it was decided on. A command records nothing when it would change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import singledispatchmethod
from typing import Self
from uuid import UUID

from customerhub_shared.events.equipment import (
    EQUIPMENT_DETAIL_FIELDS,
    EquipmentDetailsChanged,
    EquipmentEvent,
    EquipmentLocated,
    EquipmentOwnerChanged,
    EquipmentRegistered,
    OwnerChangeReason,
)
from equipment.domain import errors
from equipment.domain.values import EquipmentPatch, NewEquipment


class Equipment:
    """An item's state as its events left it; `version` counts the events applied."""

    def __init__(self, equipment_id: UUID) -> None:
        self.id = equipment_id
        self.version = 0
        self.pending: list[EquipmentEvent] = []
        self.details: dict[str, str | None] = dict.fromkeys(EQUIPMENT_DETAIL_FIELDS)
        self.owner: UUID | None = None
        self.location_id: UUID | None = None

    @classmethod
    def replay(cls, events: Iterable[EquipmentEvent]) -> Self:
        history = list(events)
        if not history:
            raise ValueError("an item's history cannot be empty")
        item = cls(history[0].equipment_id)
        for event in history:
            item.apply(event)
        return item

    @classmethod
    def register(cls, equipment_id: UUID, new: NewEquipment) -> Self:
        item = cls(equipment_id)
        item._record(
            EquipmentRegistered(
                equipment_id=equipment_id, **new.event_fields(EQUIPMENT_DETAIL_FIELDS)
            )
        )
        return item

    # -- decisions -----------------------------------------------------------------------------

    def change_details(self, patch: EquipmentPatch) -> None:
        asked = patch.event_fields(tuple(patch.model_fields_set))
        changes = {
            name: value
            for name in EQUIPMENT_DETAIL_FIELDS
            if name in asked and (value := asked[name]) != self.details[name]
        }
        if changes:
            self._record(
                EquipmentDetailsChanged(equipment_id=self.id, changed=tuple(changes), **changes)
            )

    def owned_by_another(self, customer_id: UUID) -> bool:
        return self.owner is not None and self.owner != customer_id

    def assign_to(self, customer_id: UUID, *, transfer: bool) -> None:
        """Taking an item from the customer that owns it must be asked for (`transfer`)."""
        if self.owner == customer_id:
            return
        if self.owner is not None and not transfer:
            raise errors.OwnedByAnotherCustomer({self.id: self.owner})
        self._change_owner(customer_id, "transferred" if self.owner else "assigned")

    def release_from(self, customer_id: UUID) -> None:
        if self.owner != customer_id:
            raise errors.EquipmentNotOwned(self.id, customer_id)
        self._change_owner(None, "unassigned")

    def place_at(self, customer_id: UUID, location_id: UUID | None) -> None:
        """Only its owner says where an item stands (the location is checked to be theirs)."""
        if self.owner != customer_id:
            raise errors.EquipmentNotOwned(self.id, customer_id)
        if location_id != self.location_id:
            self._record(
                EquipmentLocated(
                    equipment_id=self.id, owner_id=customer_id, location_id=location_id
                )
            )

    def hand_over(self, to: UUID | None, reason: OwnerChangeReason) -> None:
        """An owner change the ownership reconciler decided (a merge, a refused item)."""
        if to != self.owner:
            self._change_owner(to, reason)

    def _change_owner(self, to: UUID | None, reason: OwnerChangeReason) -> None:
        self._record(
            EquipmentOwnerChanged(
                equipment_id=self.id, previous_owner=self.owner, new_owner=to, reason=reason
            )
        )

    # -- mutators ------------------------------------------------------------------------------

    def apply(self, event: EquipmentEvent) -> None:
        self._when(event)
        self.version += 1

    def _record(self, event: EquipmentEvent) -> None:
        self.apply(event)
        self.pending.append(event)

    @singledispatchmethod
    def _when(self, event: EquipmentEvent) -> None:
        """Events this state does not track change nothing but the version."""

    @_when.register
    def _registered(self, event: EquipmentRegistered) -> None:
        self.details = {name: getattr(event, name) for name in EQUIPMENT_DETAIL_FIELDS}

    @_when.register
    def _details_changed(self, event: EquipmentDetailsChanged) -> None:
        for name in event.changed:
            if name in self.details:
                self.details[name] = getattr(event, name)

    @_when.register
    def _owner_changed(self, event: EquipmentOwnerChanged) -> None:
        self.owner = event.new_owner
        self.location_id = None

    @_when.register
    def _located(self, event: EquipmentLocated) -> None:
        self.location_id = event.location_id
