"""Who can be notified for a customer: its language, status and contacts with their opt-ins,
folded from the customer's events. `apply` is pure and never fails.

Addresses are personal data: anonymising or deleting a customer erases them here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from customerhub_shared.events.customer import (
    ContactAdded,
    ContactChanged,
    ContactRemoved,
    ContactSnapshot,
    CustomerAnonymised,
    CustomerArchived,
    CustomerCreated,
    CustomerDeleted,
    CustomerDetailsChanged,
    CustomerEvent,
    CustomerMergedInto,
    CustomerReactivated,
    DuplicatesMerged,
    MainContactChosen,
    NotifyChannels,
)
from customerhub_shared.events.equipment import (
    EquipmentDetailsChanged,
    EquipmentEvent,
    EquipmentRegistered,
)
from notifications.domain.templates import Channel

CustomerStatus = Literal["active", "archived", "merged", "anonymised", "deleted"]
_CONTACT_FIELDS = ("name", "email", "phone", "notify", "equipment_alerts")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Contact(_Frozen):
    contact_id: UUID
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    notify: NotifyChannels = NotifyChannels()
    equipment_alerts: bool = False

    def opted_in(self, channel: Channel) -> bool:
        return self.notify.email if channel == "email" else self.notify.sms

    def address(self, channel: Channel) -> str | None:
        return self.email if channel == "email" else self.phone


class Audience(_Frozen):
    """A customer as the notification rules see it."""

    customer_id: UUID
    name: str | None = None
    language: str = "en"
    status: CustomerStatus = "active"
    merged_into: UUID | None = None
    contacts: tuple[Contact, ...] = ()
    main_contact_id: UUID | None = None
    # Set once the customer's first main contact was chosen: that one was welcomed (or not,
    # without an email opt-in); a later main contact is no new customer's.
    welcomed: bool = False

    def contact(self, contact_id: UUID) -> Contact | None:
        return next((c for c in self.contacts if c.contact_id == contact_id), None)

    @property
    def alert_contacts(self) -> tuple[UUID, ...]:
        return tuple(c.contact_id for c in self.contacts if c.equipment_alerts)


class EquipmentLabel(_Frozen):
    """What a message may say about an equipment item (its stream holds no personal data)."""

    equipment_id: UUID
    name: str | None = None
    brand: str | None = None
    model: str | None = None
    serial_number: str | None = None

    def title(self) -> str:
        make = " ".join(part for part in (self.brand, self.model) if part)
        name = self.name or str(self.equipment_id)
        return f"{name} ({make})" if make else name


def apply(audience: Audience | None, event: CustomerEvent) -> Audience:
    current = audience or Audience(customer_id=event.customer_id)
    return _when(event, current)


def apply_equipment(label: EquipmentLabel | None, event: EquipmentEvent) -> EquipmentLabel:
    current = label or EquipmentLabel(equipment_id=event.equipment_id)
    if isinstance(event, EquipmentRegistered):
        return current.model_copy(
            update=_fields(event, ("name", "brand", "model", "serial_number"))
        )
    if isinstance(event, EquipmentDetailsChanged):
        wanted = [f for f in ("name", "brand", "model", "serial_number") if f in event.changed]
        return current.model_copy(update=_fields(event, wanted))
    return current


def _fields(source: BaseModel, names: Sequence[str]) -> dict[str, object]:
    return {name: getattr(source, name) for name in names}


@singledispatch
def _when(event: CustomerEvent, audience: Audience) -> Audience:
    return audience  # the rest changes nothing the rules look at


@_when.register
def _created(event: CustomerCreated, audience: Audience) -> Audience:
    return audience.model_copy(update={"name": event.name, "language": event.language})


@_when.register
def _details(event: CustomerDetailsChanged, audience: Audience) -> Audience:
    update: dict[str, object] = {}
    if "name" in event.changed:
        update["name"] = event.name
    if "language" in event.changed and event.language:
        update["language"] = event.language
    return audience.model_copy(update=update)


@_when.register
def _contact_added(event: ContactAdded, audience: Audience) -> Audience:
    contact = Contact(contact_id=event.contact_id, **_fields(event, _CONTACT_FIELDS))
    others = tuple(c for c in audience.contacts if c.contact_id != event.contact_id)
    return audience.model_copy(update={"contacts": (*others, contact)})


@_when.register
def _contact_changed(event: ContactChanged, audience: Audience) -> Audience:
    update = _fields(event, [f for f in _CONTACT_FIELDS if f in event.changed])
    contacts = tuple(
        c.model_copy(update=update) if c.contact_id == event.contact_id else c
        for c in audience.contacts
    )
    return audience.model_copy(update={"contacts": contacts})


@_when.register
def _contact_removed(event: ContactRemoved, audience: Audience) -> Audience:
    contacts = tuple(c for c in audience.contacts if c.contact_id != event.contact_id)
    return audience.model_copy(update={"contacts": contacts})


@_when.register
def _main_contact(event: MainContactChosen, audience: Audience) -> Audience:
    welcomed = audience.welcomed or event.contact_id is not None
    return audience.model_copy(update={"main_contact_id": event.contact_id, "welcomed": welcomed})


@_when.register
def _merged(event: DuplicatesMerged, audience: Audience) -> Audience:
    known = {c.contact_id for c in audience.contacts}
    absorbed = tuple(_from_snapshot(s) for s in event.contacts or () if s.contact_id not in known)
    return audience.model_copy(update={"contacts": (*audience.contacts, *absorbed)})


def _from_snapshot(snapshot: ContactSnapshot) -> Contact:
    return Contact(contact_id=snapshot.contact_id, **_fields(snapshot, _CONTACT_FIELDS))


@_when.register
def _archived(event: CustomerArchived, audience: Audience) -> Audience:
    return audience.model_copy(update={"status": "archived"})


@_when.register
def _reactivated(event: CustomerReactivated, audience: Audience) -> Audience:
    return audience.model_copy(update={"status": "active"})


@_when.register
def _merged_into(event: CustomerMergedInto, audience: Audience) -> Audience:
    return audience.model_copy(update={"status": "merged", "merged_into": event.survivor_id})


@_when.register
def _anonymised(event: CustomerAnonymised, audience: Audience) -> Audience:
    # A merged duplicate forgotten with its survivor stays a redirect.
    status = "merged" if audience.status == "merged" else "anonymised"
    return erase(audience).model_copy(update={"status": status})


@_when.register
def _deleted(event: CustomerDeleted, audience: Audience) -> Audience:
    return erase(audience).model_copy(update={"status": "deleted"})


def erase(audience: Audience) -> Audience:
    """Without its personal data: no name, no addresses (the opt-ins say nothing personal)."""
    contacts = tuple(
        c.model_copy(update={"name": None, "email": None, "phone": None}) for c in audience.contacts
    )
    return audience.model_copy(update={"name": None, "contacts": contacts})
