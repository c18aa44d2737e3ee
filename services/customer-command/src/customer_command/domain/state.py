"""A customer's state as its events left it, and the mutator that applies each event.

Applying never fails: an anonymised customer's history reads back with its personal fields
erased (None), and the state simply carries those Nones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any, Literal, Self
from uuid import UUID

from customerhub_shared.events.customer import (
    AttachmentAdded,
    AttachmentRemoved,
    AttachmentSnapshot,
    ContactAdded,
    ContactChanged,
    ContactRemoved,
    ContactSnapshot,
    CustomerAnonymised,
    CustomerArchived,
    CustomerConvertedToCompany,
    CustomerCreated,
    CustomerDeleted,
    CustomerDetailsChanged,
    CustomerEvent,
    CustomerKind,
    CustomerLabelAdded,
    CustomerLabelRemoved,
    CustomerMergedInto,
    CustomerReactivated,
    CustomerRole,
    CustomerRoleAdded,
    DocumentLinked,
    DocumentUnlinked,
    DuplicatesMerged,
    EmployeeAssigned,
    EmployeeUnassigned,
    EquipmentAssigned,
    EquipmentPlaced,
    EquipmentUnassigned,
    GeoPoint,
    LocationAdded,
    LocationChanged,
    LocationRemoved,
    LocationSnapshot,
    MainContactChosen,
    MainLocationChosen,
    NotifyChannels,
    ProspectConvertedToCustomer,
    RelationAdded,
    RelationKind,
    RelationRemoved,
    Segment,
    split_name,
)

CustomerStatus = Literal["active", "archived", "merged", "anonymised", "deleted"]

DETAIL_FIELDS = (
    "name",
    "internal_name",
    "customer_number",
    "region",
    "language",
    "segment",
    "email",
    "phone",
    "price_list",
    "discount_percent",
    "tax_override",
    "note",
    "show_note_on_selection",
    "custom_fields",
)
_ALWAYS_SET_DETAILS = frozenset({"language", "segment", "show_note_on_selection"})
_PERSONAL_DETAILS = ("name", "internal_name", "email", "phone", "note")
_PERSONAL_CONTACT_FIELDS = ("name", "given_name", "family_name", "email", "phone", "position")


@dataclass(frozen=True)
class Contact:
    name: str | None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    position: str | None = None
    notify: NotifyChannels = NotifyChannels()
    equipment_alerts: bool = False
    portal_access: bool = False
    portal_invited_at: datetime | None = None

    def erased(self) -> Contact:
        return replace(
            self,
            name=None,
            given_name=None,
            family_name=None,
            email=None,
            phone=None,
            position=None,
        )


@dataclass(frozen=True)
class Location:
    label: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    geo: GeoPoint | None = None

    def erased(self) -> Location:
        return replace(self, label=None, street=None, postal_code=None, city=None, geo=None)


@dataclass(frozen=True)
class Attachment:
    """A file attached to the customer; its bytes are in the blob store under `blob_key`,
    sealed with the key of `sealed_for` (the customer it was attached to, before any merge)."""

    attachment_id: UUID
    sealed_for: UUID
    file_name: str | None
    size: int
    content_type: str
    sha256: str | None
    added_by: str
    added_at: datetime

    @property
    def blob_key(self) -> str:
        return attachment_blob_key(self.attachment_id)

    def erased(self) -> Attachment:
        return replace(self, file_name=None, sha256=None)


def attachment_blob_key(attachment_id: UUID) -> str:
    """Keyed by the attachment alone: a merge moves it to the survivor without moving bytes."""
    return f"attachments/{attachment_id}"


def attachment_from(event: AttachmentAdded | AttachmentSnapshot) -> Attachment:
    if isinstance(event, AttachmentAdded):
        return Attachment(
            sealed_for=event.customer_id,
            **{name: getattr(event, name) for name in ATTACHMENT_FIELDS if name != "sealed_for"},
        )
    return Attachment(**{name: getattr(event, name) for name in ATTACHMENT_FIELDS})


CONTACT_FIELDS = tuple(field.name for field in fields(Contact))
ATTACHMENT_FIELDS = tuple(field.name for field in fields(Attachment))
LOCATION_FIELDS = tuple(field.name for field in fields(Location))


def contact_from(event: ContactAdded | ContactSnapshot) -> Contact:
    contact = Contact(**{name: getattr(event, name) for name in CONTACT_FIELDS})
    if contact.given_name is None:  # a snapshot taken before names were split
        return _renamed(contact, contact.name)
    return contact


def _renamed(contact: Contact, name: str | None) -> Contact:
    given_name, family_name = split_name(name)
    return replace(contact, name=name, given_name=given_name, family_name=family_name)


def location_from(event: LocationAdded | LocationSnapshot | None) -> Location:
    if event is None:
        return Location()
    return Location(**{name: getattr(event, name) for name in LOCATION_FIELDS})


def _changes(event: ContactChanged | LocationChanged, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.changed if name in names}


class CustomerState:
    """Everything the commands decide on; `version` counts the events applied so far."""

    def __init__(self, customer_id: UUID) -> None:
        self.id = customer_id
        self.version = 0
        self.pending: list[CustomerEvent] = []
        self.status: CustomerStatus = "active"
        self.kind: CustomerKind = "company"
        self.name: str | None = None
        self.internal_name: str | None = None
        self.customer_number: str | None = None
        self.region: str | None = None
        self.language = "en"
        self.segment: Segment = "other"
        self.roles: set[CustomerRole] = set()
        self.labels: set[str] = set()
        self.email: str | None = None
        self.phone: str | None = None
        self.price_list: str | None = None
        self.discount_percent: Decimal | None = None
        self.tax_override: str | None = None
        self.note: str | None = None
        self.show_note_on_selection = False
        self.custom_fields: dict[str, Any] = {}
        self.contacts: dict[UUID, Contact] = {}
        self.main_contact_id: UUID | None = None
        self.locations: dict[UUID, Location] = {}
        self.main_location_id: UUID | None = None
        self.relations: dict[UUID, RelationKind] = {}
        self.employees: set[str] = set()
        self.documents: dict[str, str] = {}
        self.equipment_ids: set[UUID] = set()
        # Where listed items stand (an item at none said is not a key).
        self.equipment_locations: dict[UUID, UUID] = {}
        self.attachments: dict[UUID, Attachment] = {}
        self.absorbed_ids: set[UUID] = set()
        self.personal_data_erased = False
        self.merged_into: UUID | None = None

    @classmethod
    def replay(cls, events: Iterable[CustomerEvent]) -> Self:
        """Rebuild a customer from its history, which starts with CustomerCreated."""
        history = list(events)
        if not history:
            raise ValueError("a customer's history cannot be empty")
        customer = cls(history[0].customer_id)
        for event in history:
            customer.apply(event)
        return customer

    def apply(self, event: CustomerEvent) -> None:
        self._when(event)
        self.version += 1

    def _record(self, event: CustomerEvent) -> None:
        self.apply(event)
        self.pending.append(event)

    @singledispatchmethod
    def _when(self, event: CustomerEvent) -> None:
        """Events this state does not track change nothing but the version."""

    @_when.register
    def _created(self, event: CustomerCreated) -> None:
        for name in DETAIL_FIELDS:
            setattr(self, name, getattr(event, name))
        self.custom_fields = dict(event.custom_fields or {})
        self.kind = event.kind
        self.roles = set(event.roles)
        self.labels = set(event.labels)
        self.main_location_id = event.main_location_id
        self.locations = {event.main_location_id: location_from(event.main_location)}
        self.status = "active"

    @_when.register
    def _details_changed(self, event: CustomerDetailsChanged) -> None:
        for name in event.changed:
            value = getattr(event, name, None)
            if name == "custom_fields":
                value = dict(value or {})
            if name not in DETAIL_FIELDS or (value is None and name in _ALWAYS_SET_DETAILS):
                continue
            setattr(self, name, value)

    @_when.register
    def _converted_to_company(self, event: CustomerConvertedToCompany) -> None:
        self.kind = "company"

    @_when.register
    def _converted_to_customer(self, event: ProspectConvertedToCustomer) -> None:
        self.roles.discard("prospect")
        self.roles.add("customer")

    @_when.register
    def _role_added(self, event: CustomerRoleAdded) -> None:
        self.roles.add(event.role)

    @_when.register
    def _label_added(self, event: CustomerLabelAdded) -> None:
        self.labels.add(event.label)

    @_when.register
    def _label_removed(self, event: CustomerLabelRemoved) -> None:
        self.labels.discard(event.label)

    @_when.register
    def _contact_added(self, event: ContactAdded) -> None:
        self.contacts[event.contact_id] = contact_from(event)

    @_when.register
    def _contact_changed(self, event: ContactChanged) -> None:
        contact = self.contacts.get(event.contact_id)
        if contact is None:
            return
        # notify and equipment_alerts are never erased, so a None there carries no change.
        changes = {
            name: value
            for name, value in _changes(event, CONTACT_FIELDS).items()
            if value is not None or name in _PERSONAL_CONTACT_FIELDS
        }
        if "portal_access" in event.changed:  # revoking clears the invitation's time
            changes["portal_invited_at"] = event.portal_invited_at
        contact = replace(contact, **changes)
        if "name" in changes:
            contact = _renamed(contact, contact.name)
        self.contacts[event.contact_id] = contact

    @_when.register
    def _main_contact_chosen(self, event: MainContactChosen) -> None:
        self.main_contact_id = event.contact_id

    @_when.register
    def _contact_removed(self, event: ContactRemoved) -> None:
        self.contacts.pop(event.contact_id, None)
        if self.main_contact_id == event.contact_id:
            self.main_contact_id = None

    @_when.register
    def _location_added(self, event: LocationAdded) -> None:
        self.locations[event.location_id] = location_from(event)

    @_when.register
    def _location_changed(self, event: LocationChanged) -> None:
        location = self.locations.get(event.location_id)
        if location is not None:
            changes = _changes(event, LOCATION_FIELDS)
            self.locations[event.location_id] = replace(location, **changes)

    @_when.register
    def _main_location_chosen(self, event: MainLocationChosen) -> None:
        self.main_location_id = event.location_id

    @_when.register
    def _location_removed(self, event: LocationRemoved) -> None:
        self.locations.pop(event.location_id, None)
        for equipment_id, location_id in list(self.equipment_locations.items()):
            if location_id == event.location_id:
                del self.equipment_locations[equipment_id]

    @_when.register
    def _relation_added(self, event: RelationAdded) -> None:
        self.relations[event.other_customer_id] = event.relation

    @_when.register
    def _relation_removed(self, event: RelationRemoved) -> None:
        self.relations.pop(event.other_customer_id, None)

    @_when.register
    def _employee_assigned(self, event: EmployeeAssigned) -> None:
        self.employees.add(event.employee_id)

    @_when.register
    def _employee_unassigned(self, event: EmployeeUnassigned) -> None:
        self.employees.discard(event.employee_id)

    @_when.register
    def _document_linked(self, event: DocumentLinked) -> None:
        self.documents[event.document_id] = event.document_type

    @_when.register
    def _document_unlinked(self, event: DocumentUnlinked) -> None:
        self.documents.pop(event.document_id, None)

    @_when.register
    def _equipment_assigned(self, event: EquipmentAssigned) -> None:
        self.equipment_ids.add(event.equipment_id)

    @_when.register
    def _equipment_unassigned(self, event: EquipmentUnassigned) -> None:
        self.equipment_ids.discard(event.equipment_id)
        self.equipment_locations.pop(event.equipment_id, None)

    @_when.register
    def _equipment_placed(self, event: EquipmentPlaced) -> None:
        if event.location_id is None:
            self.equipment_locations.pop(event.equipment_id, None)
        else:
            self.equipment_locations[event.equipment_id] = event.location_id

    @_when.register
    def _attachment_added(self, event: AttachmentAdded) -> None:
        self.attachments[event.attachment_id] = attachment_from(event)

    @_when.register
    def _attachment_removed(self, event: AttachmentRemoved) -> None:
        self.attachments.pop(event.attachment_id, None)

    @_when.register
    def _archived(self, event: CustomerArchived) -> None:
        self.status = "archived"

    @_when.register
    def _reactivated(self, event: CustomerReactivated) -> None:
        self.status = "active"

    @_when.register
    def _duplicates_merged(self, event: DuplicatesMerged) -> None:
        self.absorbed_ids.update(event.duplicate_ids)
        for contact in event.contacts or ():
            self.contacts[contact.contact_id] = contact_from(contact)
        for location in event.locations or ():
            self.locations[location.location_id] = location_from(location)
        self.labels.update(event.labels)
        self.relations.update(dict(event.relations))
        self.equipment_ids.update(event.equipment_ids)
        self.documents.update(dict(event.document_ids))
        self.employees.update(event.employee_ids)
        for attachment in event.attachments or ():
            self.attachments[attachment.attachment_id] = attachment_from(attachment)

    @_when.register
    def _merged_into(self, event: CustomerMergedInto) -> None:
        # What the duplicate held stays readable: a merge interrupted before the survivor
        # absorbed it is completed by absorbing it again.
        self.status = "merged"
        self.merged_into = event.survivor_id

    @_when.register
    def _anonymised(self, event: CustomerAnonymised) -> None:
        for name in _PERSONAL_DETAILS:
            setattr(self, name, None)
        self.custom_fields = {}
        self.contacts = {cid: contact.erased() for cid, contact in self.contacts.items()}
        self.locations = {lid: location.erased() for lid, location in self.locations.items()}
        self.attachments = {aid: item.erased() for aid, item in self.attachments.items()}
        self.personal_data_erased = True
        # A merged duplicate forgotten with its survivor stays a redirect.
        if self.merged_into is None:
            self.status = "anonymised"

    @_when.register
    def _deleted(self, event: CustomerDeleted) -> None:
        self.status = "deleted"
