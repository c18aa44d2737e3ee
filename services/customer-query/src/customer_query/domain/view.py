"""The customers view: one JSON document per customer, folded from its events.

`apply` is pure and never fails: events read back with erased personal fields (None) after
anonymisation simply leave those fields empty. The derived fields (search terms, sort name,
email and phone keys) are recomputed after every event, from the document alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import singledispatch
from typing import Any
from uuid import UUID

import orjson

from customer_query.domain import terms
from customer_query.domain.instants import instant_text
from customerhub_shared.events import Envelope
from customerhub_shared.events.customer import (
    ActivityRecorded,
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
    CustomerLabelAdded,
    CustomerLabelRemoved,
    CustomerMergedInto,
    CustomerReactivated,
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
    RelationRemoved,
    split_name,
)
from customerhub_shared.readstore import Document

STREAM_PREFIX = "customer-"
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
# A None for these in CustomerDetailsChanged is never a real value: they always have one.
_ALWAYS_SET_DETAILS = frozenset({"language", "segment", "show_note_on_selection"})
_PERSONAL_DETAILS = ("name", "internal_name", "email", "phone", "note")
CONTACT_FIELDS = ("name", "email", "phone", "position", "notify", "equipment_alerts")
_PERSONAL_CONTACT_FIELDS = ("name", "given_name", "family_name", "email", "phone", "position")
LOCATION_FIELDS = ("label", "street", "postal_code", "city", "country", "geo")
_PERSONAL_LOCATION_FIELDS = ("label", "street", "postal_code", "city", "geo")
# Fields only the read store and the queries use; never part of an answer.
INTERNAL_FIELDS = frozenset(
    {"_id", "_version", "search_terms", "sort_name", "emails", "phones", "name_key"}
    | {"activities"}  # the timeline has its own route
)


class CustomerView:
    """The `customers` projection: handles `customer-<uuid>` streams, one document each."""

    name = "customers"
    # Each document is one stream's fold: a rebuild may fold the streams one after another.
    stream_prefix = STREAM_PREFIX

    def handles(self, stream: str) -> bool:
        return self.key_subject(stream) is not None

    def key_subject(self, stream: str) -> UUID | None:
        if not stream.startswith(STREAM_PREFIX):
            return None
        try:
            return UUID(stream.removeprefix(STREAM_PREFIX))
        except ValueError:
            return None

    def document_id(self, stream: str) -> str:
        return stream.removeprefix(STREAM_PREFIX)

    def apply(self, document: Document | None, envelope: Envelope) -> Document | None:
        return self.fold(document, [envelope])

    def fold(self, document: Document | None, envelopes: Sequence[Envelope]) -> Document | None:
        """The document after these events: copied once, derived fields computed once."""
        customer: Document | None = None
        first: Envelope | None = None
        last: Envelope | None = None
        for envelope in envelopes:
            event = envelope.event
            if not isinstance(event, CustomerEvent):
                continue
            if customer is None:
                # Documents are plain JSON: a JSON round trip copies them faster than deepcopy.
                customer = (
                    orjson.loads(orjson.dumps(document))
                    if document
                    else blank_customer(event.customer_id)
                )
            _when(event, customer)
            first, last = first or envelope, envelope
        if customer is None or first is None or last is None:
            return document
        # Only the first stamp can set created_at and only the last one stays: stamp those.
        _stamp(customer, first)
        if last is not first:
            _stamp(customer, last)
        _derive(customer)
        return customer


def blank_customer(customer_id: UUID) -> Document:
    """The document before its first event; every answer has all of these fields."""
    return {
        "id": str(customer_id),
        "kind": "company",
        **dict.fromkeys(DETAIL_FIELDS),
        "language": "en",
        "segment": "other",
        "show_note_on_selection": False,
        "custom_fields": {},
        "roles": [],
        "labels": [],
        "status": "active",
        "contacts": [],
        "main_contact_id": None,
        "locations": [],
        "main_location_id": None,
        "relations": [],
        "employees": [],
        "documents": [],
        "equipment_ids": [],
        "attachments": [],
        "activities": [],
        "merged_into": None,
        "merged_ids": [],
        "created_at": None,
        "created_by": None,
        "updated_at": None,
        "updated_by": None,
        "version": 0,
        "position": None,
    }


def public(document: Document) -> Document:
    """The document as clients see it: without the fields kept for the store and queries."""
    return {name: value for name, value in document.items() if name not in INTERNAL_FIELDS}


# -- stamping and derived fields ---------------------------------------------------------------


def _stamp(customer: Document, envelope: Envelope) -> None:
    at, actor = instant_text(envelope.recorded_at), envelope.metadata.actor
    if customer["created_at"] is None:
        customer["created_at"], customer["created_by"] = at, actor
    customer["updated_at"], customer["updated_by"] = at, actor
    customer["version"] = envelope.revision + 1
    customer["position"] = envelope.position


def _derive(customer: Document) -> None:
    for contact in customer["contacts"]:
        contact["main"] = contact["contact_id"] == customer["main_contact_id"]
    for location in customer["locations"]:
        location["main"] = location["location_id"] == customer["main_location_id"]
    customer["name_key"] = terms.name_key(customer["name"])
    customer["sort_name"] = customer["name_key"]
    customer["search_terms"] = _search_terms(customer)
    contacts = customer["contacts"]
    emails = [customer["email"], *(contact["email"] for contact in contacts)]
    phones = [customer["phone"], *(contact["phone"] for contact in contacts)]
    customer["emails"] = sorted({key for email in emails if (key := terms.email_key(email))})
    customer["phones"] = sorted({key for phone in phones for key in terms.phone_keys(phone)})


def _search_terms(customer: Document) -> list[str]:
    number_terms = terms.customer_number_terms(customer["customer_number"])
    if customer["status"] == "deleted":
        return []
    if customer["status"] == "anonymised":
        return sorted(set(number_terms))
    found = {
        *terms.words(customer["name"]),
        *terms.words(customer["internal_name"]),
        *number_terms,
        *terms.email_terms(customer["email"]),
        *terms.phone_terms(customer["phone"]),
    }
    return sorted(found)


# -- values as JSON ------------------------------------------------------------------------------


def _detail(name: str, value: Any) -> Any:
    if name == "custom_fields":
        return dict(value or {})
    if isinstance(value, Decimal):
        return str(value)
    return value


def _geo(geo: GeoPoint | None) -> dict[str, float] | None:
    return geo.model_dump() if geo is not None else None


def _notify(notify: NotifyChannels) -> dict[str, bool]:
    return {"email": notify.email, "sms": notify.sms}


def _contact_document(contact: ContactAdded | ContactSnapshot) -> Document:
    given_name, family_name = contact.given_name, contact.family_name
    if given_name is None:  # a snapshot taken before names were split
        given_name, family_name = split_name(contact.name)
    return {
        "contact_id": str(contact.contact_id),
        "name": contact.name,
        "given_name": given_name,
        "family_name": family_name,
        "email": contact.email,
        "phone": contact.phone,
        "position": contact.position,
        "notify": _notify(contact.notify),
        "equipment_alerts": contact.equipment_alerts,
        "portal_access": contact.portal_access,
        "portal_invited_at": _instant(contact.portal_invited_at),
        "main": False,
    }


def _instant(moment: datetime | None) -> str | None:
    return instant_text(moment) if moment is not None else None


def _location_document(
    location_id: UUID, location: LocationAdded | LocationSnapshot | None
) -> Document:
    """A None location is a main location whose address was erased with the customer's key."""
    values = {name: getattr(location, name, None) for name in LOCATION_FIELDS}
    values["geo"] = _geo(values["geo"])
    return {"location_id": str(location_id), **values, "main": False, "equipment_ids": []}


def _find(entries: list[Document], key: str, entry_id: str) -> Document | None:
    return next((entry for entry in entries if entry[key] == entry_id), None)


def _put(entries: list[Document], key: str, entry: Document) -> None:
    """Add an entry, or replace the one with the same id (a redelivered event)."""
    entries[:] = [existing for existing in entries if existing[key] != entry[key]] + [entry]


def _add_sorted(customer: Document, field: str, values: Any) -> None:
    customer[field] = sorted({*customer[field], *(str(value) for value in values)})


def _discard(customer: Document, field: str, value: str) -> None:
    customer[field] = [existing for existing in customer[field] if existing != value]


def _erase_personal_data(customer: Document) -> None:
    terms.forget_cached_phones()
    for name in _PERSONAL_DETAILS:
        customer[name] = None
    customer["custom_fields"] = {}
    for contact in customer["contacts"]:
        contact.update(dict.fromkeys(_PERSONAL_CONTACT_FIELDS))
    for location in customer["locations"]:
        location.update(dict.fromkeys(_PERSONAL_LOCATION_FIELDS))
    for activity in customer.get("activities", ()):
        activity["text"] = None
    for attachment in customer.get("attachments", ()):
        attachment["file_name"] = None


# -- one mutator per event -----------------------------------------------------------------------


@singledispatch
def _when(event: CustomerEvent, customer: Document) -> None:
    """An event this view does not show changes nothing but the stamp."""


@_when.register
def _created(event: CustomerCreated, customer: Document) -> None:
    for name in DETAIL_FIELDS:
        customer[name] = _detail(name, getattr(event, name))
    customer["kind"] = event.kind
    customer["roles"] = sorted(set(event.roles))
    customer["labels"] = sorted(set(event.labels))
    customer["main_location_id"] = str(event.main_location_id)
    customer["locations"] = [_location_document(event.main_location_id, event.main_location)]
    customer["status"] = "active"


@_when.register
def _details_changed(event: CustomerDetailsChanged, customer: Document) -> None:
    for name in event.changed:
        value = getattr(event, name, None)
        if name not in DETAIL_FIELDS or (value is None and name in _ALWAYS_SET_DETAILS):
            continue
        customer[name] = _detail(name, value)


@_when.register
def _converted_to_company(event: CustomerConvertedToCompany, customer: Document) -> None:
    customer["kind"] = "company"


@_when.register
def _converted_to_customer(event: ProspectConvertedToCustomer, customer: Document) -> None:
    _discard(customer, "roles", "prospect")
    _add_sorted(customer, "roles", ["customer"])


@_when.register
def _role_added(event: CustomerRoleAdded, customer: Document) -> None:
    _add_sorted(customer, "roles", [event.role])


@_when.register
def _label_added(event: CustomerLabelAdded, customer: Document) -> None:
    _add_sorted(customer, "labels", [event.label])


@_when.register
def _label_removed(event: CustomerLabelRemoved, customer: Document) -> None:
    _discard(customer, "labels", event.label)


@_when.register
def _contact_added(event: ContactAdded, customer: Document) -> None:
    _put(customer["contacts"], "contact_id", _contact_document(event))


@_when.register
def _contact_changed(event: ContactChanged, customer: Document) -> None:
    contact = _find(customer["contacts"], "contact_id", str(event.contact_id))
    if contact is None:
        return
    for name in event.changed:
        value = getattr(event, name, None) if name in CONTACT_FIELDS else None
        # notify and equipment_alerts are never erased, so a None there carries no change.
        if name == "name":
            contact["name"] = value
            contact["given_name"], contact["family_name"] = split_name(value)
        elif name in _PERSONAL_CONTACT_FIELDS:
            contact[name] = value
        elif isinstance(value, NotifyChannels):
            contact["notify"] = _notify(value)
        elif name == "equipment_alerts" and value is not None:
            contact["equipment_alerts"] = value
        elif name == "portal_access":
            contact["portal_access"] = bool(event.portal_access)
            contact["portal_invited_at"] = _instant(event.portal_invited_at)


@_when.register
def _main_contact_chosen(event: MainContactChosen, customer: Document) -> None:
    customer["main_contact_id"] = str(event.contact_id) if event.contact_id else None


@_when.register
def _contact_removed(event: ContactRemoved, customer: Document) -> None:
    contact_id = str(event.contact_id)
    customer["contacts"] = [c for c in customer["contacts"] if c["contact_id"] != contact_id]
    if customer["main_contact_id"] == contact_id:
        customer["main_contact_id"] = None


@_when.register
def _location_added(event: LocationAdded, customer: Document) -> None:
    _put(customer["locations"], "location_id", _location_document(event.location_id, event))


@_when.register
def _location_changed(event: LocationChanged, customer: Document) -> None:
    location = _find(customer["locations"], "location_id", str(event.location_id))
    if location is None:
        return
    for name in event.changed:
        if name in LOCATION_FIELDS:
            value = getattr(event, name)
            location[name] = _geo(value) if name == "geo" else value


@_when.register
def _main_location_chosen(event: MainLocationChosen, customer: Document) -> None:
    customer["main_location_id"] = str(event.location_id)


@_when.register
def _location_removed(event: LocationRemoved, customer: Document) -> None:
    location_id = str(event.location_id)
    customer["locations"] = [
        location for location in customer["locations"] if location["location_id"] != location_id
    ]


@_when.register
def _relation_added(event: RelationAdded, customer: Document) -> None:
    relation = {"customer_id": str(event.other_customer_id), "relation": event.relation}
    _put(customer["relations"], "customer_id", relation)


@_when.register
def _relation_removed(event: RelationRemoved, customer: Document) -> None:
    other = str(event.other_customer_id)
    customer["relations"] = [r for r in customer["relations"] if r["customer_id"] != other]


@_when.register
def _employee_assigned(event: EmployeeAssigned, customer: Document) -> None:
    _add_sorted(customer, "employees", [event.employee_id])


@_when.register
def _employee_unassigned(event: EmployeeUnassigned, customer: Document) -> None:
    _discard(customer, "employees", event.employee_id)


@_when.register
def _document_linked(event: DocumentLinked, customer: Document) -> None:
    linked = {"document_id": event.document_id, "document_type": event.document_type}
    _put(customer["documents"], "document_id", linked)


@_when.register
def _document_unlinked(event: DocumentUnlinked, customer: Document) -> None:
    customer["documents"] = [
        linked for linked in customer["documents"] if linked["document_id"] != event.document_id
    ]


@_when.register
def _equipment_assigned(event: EquipmentAssigned, customer: Document) -> None:
    _add_sorted(customer, "equipment_ids", [event.equipment_id])


@_when.register
def _equipment_unassigned(event: EquipmentUnassigned, customer: Document) -> None:
    _discard(customer, "equipment_ids", str(event.equipment_id))
    _unplace(customer, str(event.equipment_id))


@_when.register
def _equipment_placed(event: EquipmentPlaced, customer: Document) -> None:
    equipment_id = str(event.equipment_id)
    _unplace(customer, equipment_id)
    if event.location_id is None:
        return
    location = _find(customer["locations"], "location_id", str(event.location_id))
    if location is not None:
        location["equipment_ids"] = sorted({*location["equipment_ids"], equipment_id})


def _unplace(customer: Document, equipment_id: str) -> None:
    for location in customer["locations"]:
        placed = location.setdefault("equipment_ids", [])
        if equipment_id in placed:
            placed.remove(equipment_id)


@_when.register
def _activity_recorded(event: ActivityRecorded, customer: Document) -> None:
    customer.setdefault("activities", []).append(
        {
            "activity_id": str(event.activity_id),
            "kind": event.kind,
            "text": event.text,
            "occurred_at": instant_text(event.occurred_at),
            "by": event.author,
        }
    )


def _attachment_document(attachment: AttachmentAdded | AttachmentSnapshot) -> Document:
    return {
        "attachment_id": str(attachment.attachment_id),
        "file_name": attachment.file_name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "added_by": attachment.added_by,
        "added_at": instant_text(attachment.added_at),
    }


@_when.register
def _attachment_added(event: AttachmentAdded, customer: Document) -> None:
    _put(customer.setdefault("attachments", []), "attachment_id", _attachment_document(event))


@_when.register
def _attachment_removed(event: AttachmentRemoved, customer: Document) -> None:
    customer["attachments"] = [
        attachment
        for attachment in customer.get("attachments", ())
        if attachment["attachment_id"] != str(event.attachment_id)
    ]


@_when.register
def _archived(event: CustomerArchived, customer: Document) -> None:
    customer["status"] = "archived"


@_when.register
def _reactivated(event: CustomerReactivated, customer: Document) -> None:
    customer["status"] = "active"


@_when.register
def _duplicates_merged(event: DuplicatesMerged, customer: Document) -> None:
    _add_sorted(customer, "merged_ids", event.duplicate_ids)
    for contact in event.contacts or ():
        if _find(customer["contacts"], "contact_id", str(contact.contact_id)) is None:
            customer["contacts"].append(_contact_document(contact))
    for location in event.locations or ():
        _absorb_location(customer, location)
    _add_sorted(customer, "labels", event.labels)
    for other_id, relation in event.relations:
        if _find(customer["relations"], "customer_id", str(other_id)) is None:
            customer["relations"].append({"customer_id": str(other_id), "relation": relation})
    _add_sorted(customer, "equipment_ids", event.equipment_ids)
    _add_sorted(customer, "employees", event.employee_ids)
    for document_id, document_type in event.document_ids:
        if _find(customer["documents"], "document_id", document_id) is None:
            customer["documents"].append(
                {"document_id": document_id, "document_type": document_type}
            )
    for attachment in event.attachments or ():
        _put(
            customer.setdefault("attachments", []),
            "attachment_id",
            _attachment_document(attachment),
        )


def _absorb_location(customer: Document, location: LocationSnapshot) -> None:
    if _find(customer["locations"], "location_id", str(location.location_id)) is None:
        customer["locations"].append(_location_document(location.location_id, location))


@_when.register
def _merged_into(event: CustomerMergedInto, customer: Document) -> None:
    customer["status"] = "merged"
    customer["merged_into"] = str(event.survivor_id)
    # A redirect owns nothing: its equipment passes to the survivor (the items' streams say
    # so once the ownership reconciler hands each over), so it lists none; nor attachments.
    customer["equipment_ids"] = []
    customer["attachments"] = []


@_when.register
def _anonymised(event: CustomerAnonymised, customer: Document) -> None:
    _erase_personal_data(customer)
    if customer["status"] != "merged":  # a duplicate forgotten with its survivor redirects still
        customer["status"] = "anonymised"


@_when.register
def _deleted(event: CustomerDeleted, customer: Document) -> None:
    # A tombstone: the key is gone with the customer, so nothing personal is kept either.
    _erase_personal_data(customer)
    customer["status"] = "deleted"
