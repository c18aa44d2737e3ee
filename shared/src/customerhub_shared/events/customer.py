"""Customer events: the contract downstream services subscribe to (`customerhub.customer.*`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from customerhub_shared.events.base import DomainEvent, Personal

CustomerKind = Literal["person", "company"]
CustomerRole = Literal["prospect", "customer", "supplier"]
Segment = Literal["dealer", "service_provider", "rental", "end_user", "other"]
RelationKind = Literal["parent", "child", "related"]
ActivityKind = Literal["comment", "call", "visit", "email"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GeoPoint(_Value):
    latitude: float
    longitude: float


class NotifyChannels(_Value):
    email: bool = False
    sms: bool = False


class ContactSnapshot(_Value):
    """A contact as it stood when a merge moved it to the survivor (snapshots taken before
    names were split carry `name` alone: read them with `split_name`)."""

    contact_id: UUID
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


class LocationSnapshot(_Value):
    """A location as it stood when a merge moved it to the survivor."""

    location_id: UUID
    label: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    geo: GeoPoint | None = None


class AttachmentSnapshot(_Value):
    """An attachment as it stood when a merge moved it to the survivor (its bytes stay where
    they are: the blob is keyed by the attachment, not by the customer, and stays sealed with
    the key of `sealed_for`, the customer it was attached to)."""

    attachment_id: UUID
    sealed_for: UUID
    file_name: str | None
    size: int
    content_type: str
    sha256: str | None
    added_by: str
    added_at: datetime


class CustomerEvent(DomainEvent):
    aggregate: ClassVar[str] = "customer"
    customer_id: UUID


class CustomerCreated(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.created.v1"
    kind: CustomerKind
    name: Personal[str]
    internal_name: Personal[str] = None
    customer_number: str | None = None
    region: str | None = None
    language: str = "en"
    segment: Segment = "other"
    roles: tuple[CustomerRole, ...] = ()
    labels: tuple[str, ...] = ()
    email: Personal[str] = None
    phone: Personal[str] = None
    price_list: str | None = None
    discount_percent: Decimal | None = None
    tax_override: str | None = None
    note: Personal[str] = None
    show_note_on_selection: bool = False
    custom_fields: Personal[dict[str, Any]] = None
    main_location_id: UUID
    main_location: Personal[LocationSnapshot] = None


class CustomerDetailsChanged(CustomerEvent):
    """Some of the customer's own fields changed; `changed` names them (None = cleared)."""

    type_name: ClassVar[str] = "customerhub.customer.details_changed.v1"
    changed: tuple[str, ...]
    name: Personal[str] = None
    internal_name: Personal[str] = None
    customer_number: str | None = None
    region: str | None = None
    language: str | None = None
    segment: Segment | None = None
    email: Personal[str] = None
    phone: Personal[str] = None
    price_list: str | None = None
    discount_percent: Decimal | None = None
    tax_override: str | None = None
    note: Personal[str] = None
    show_note_on_selection: bool | None = None
    custom_fields: Personal[dict[str, Any]] = None


class CustomerConvertedToCompany(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.converted_to_company.v1"


class ProspectConvertedToCustomer(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.converted_to_customer.v1"


class CustomerRoleAdded(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.role_added.v1"
    role: CustomerRole


class CustomerLabelAdded(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.label_added.v1"
    label: str


class CustomerLabelRemoved(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.label_removed.v1"
    label: str


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """A full name as (given name, family name), split at its first space.

    How a contact named in one string is read: `join_name` gives the same string back.
    """
    if name is None:
        return None, None
    given, _, family = name.strip().partition(" ")
    return given or None, family.strip() or None


def join_name(given_name: str | None, family_name: str | None) -> str | None:
    return " ".join(part for part in (given_name, family_name) if part) or None


class ContactAddedV1(CustomerEvent):
    """A contact added, as recorded until contacts had a given and a family name.

    No longer written; stored ones are read as ContactAdded (v2), the name split by
    `split_name`.
    """

    type_name: ClassVar[str] = "customerhub.customer.contact_added.v1"
    contact_id: UUID
    name: Personal[str]
    email: Personal[str] = None
    phone: Personal[str] = None
    position: Personal[str] = None
    notify: NotifyChannels = NotifyChannels()
    equipment_alerts: bool = False
    portal_access: bool = False
    # When portal access was granted (the invitation goes out then); None without access.
    portal_invited_at: datetime | None = None


class ContactAdded(CustomerEvent):
    """A contact added to the customer; `name` is the given and the family name joined."""

    type_name: ClassVar[str] = "customerhub.customer.contact_added.v2"
    contact_id: UUID
    given_name: Personal[str]
    family_name: Personal[str] = None
    email: Personal[str] = None
    phone: Personal[str] = None
    position: Personal[str] = None
    notify: NotifyChannels = NotifyChannels()
    equipment_alerts: bool = False
    portal_access: bool = False
    # When portal access was granted (the invitation goes out then); None without access.
    portal_invited_at: datetime | None = None

    @property
    def name(self) -> str | None:
        return join_name(self.given_name, self.family_name)


def contact_added_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """contact_added.v1 data read as v2: the one `name` split into given and family name.

    An erased v1 event has no name: its v2 names are erased (None) too.
    """
    upcast = {key: value for key, value in data.items() if key != "name"}
    upcast["given_name"], upcast["family_name"] = split_name(data.get("name"))
    return upcast


class ContactChanged(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.contact_changed.v1"
    contact_id: UUID
    changed: tuple[str, ...]
    name: Personal[str] = None
    email: Personal[str] = None
    phone: Personal[str] = None
    position: Personal[str] = None
    notify: NotifyChannels | None = None
    equipment_alerts: bool | None = None
    portal_access: bool | None = None
    portal_invited_at: datetime | None = None


class MainContactChosen(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.main_contact_chosen.v1"
    contact_id: UUID | None


class ContactRemoved(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.contact_removed.v1"
    contact_id: UUID


class LocationAdded(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.location_added.v1"
    location_id: UUID
    label: Personal[str] = None
    street: Personal[str] = None
    postal_code: Personal[str] = None
    city: Personal[str] = None
    country: str | None = None
    geo: Personal[GeoPoint] = None


class LocationChanged(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.location_changed.v1"
    location_id: UUID
    changed: tuple[str, ...]
    label: Personal[str] = None
    street: Personal[str] = None
    postal_code: Personal[str] = None
    city: Personal[str] = None
    country: str | None = None
    geo: Personal[GeoPoint] = None


class MainLocationChosen(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.main_location_chosen.v1"
    location_id: UUID


class LocationRemoved(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.location_removed.v1"
    location_id: UUID


class RelationAdded(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.relation_added.v1"
    other_customer_id: UUID
    relation: RelationKind


class RelationRemoved(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.relation_removed.v1"
    other_customer_id: UUID


class EmployeeAssigned(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.employee_assigned.v1"
    employee_id: str


class EmployeeUnassigned(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.employee_unassigned.v1"
    employee_id: str


class DocumentLinked(CustomerEvent):
    """An outside system (invoicing, missions) linked a document that must be kept."""

    type_name: ClassVar[str] = "customerhub.customer.document_linked.v1"
    document_id: str
    document_type: str


class DocumentUnlinked(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.document_unlinked.v1"
    document_id: str


class EquipmentAssigned(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.equipment_assigned.v1"
    equipment_id: UUID


class EquipmentUnassigned(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.equipment_unassigned.v1"
    equipment_id: UUID


class EquipmentPlaced(CustomerEvent):
    """An item the customer owns stands at one of its locations (None: at none said)."""

    type_name: ClassVar[str] = "customerhub.customer.equipment_placed.v1"
    equipment_id: UUID
    location_id: UUID | None


class ActivityRecorded(CustomerEvent):
    """Office staff noted a comment, call, visit or email with the customer (its timeline)."""

    type_name: ClassVar[str] = "customerhub.customer.activity_recorded.v1"
    activity_id: UUID
    kind: ActivityKind
    text: Personal[str]
    occurred_at: datetime
    author: str


class AttachmentAdded(CustomerEvent):
    """A file attached to the customer; its bytes are in the blob store, checked to be of
    `content_type` and sealed with the customer's key, as are the file name and the hash."""

    type_name: ClassVar[str] = "customerhub.customer.attachment_added.v1"
    attachment_id: UUID
    file_name: Personal[str]
    size: int
    content_type: str
    sha256: Personal[str]
    added_by: str
    added_at: datetime


class AttachmentRemoved(CustomerEvent):
    """An attachment removed (by a user, or because the customer was anonymised); its bytes
    were deleted from the blob store before this was recorded."""

    type_name: ClassVar[str] = "customerhub.customer.attachment_removed.v1"
    attachment_id: UUID
    file_name: Personal[str]
    size: int
    content_type: str
    sha256: Personal[str]
    removed_by: str


class CustomerArchived(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.archived.v1"
    reason: str | None = None


class CustomerReactivated(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.reactivated.v1"


class DuplicatesMerged(CustomerEvent):
    """The survivor absorbed what the duplicates held; each duplicate is now a redirect."""

    type_name: ClassVar[str] = "customerhub.customer.duplicates_merged.v1"
    duplicate_ids: tuple[UUID, ...]
    contacts: Personal[tuple[ContactSnapshot, ...]] = ()
    locations: Personal[tuple[LocationSnapshot, ...]] = ()
    labels: tuple[str, ...] = ()
    relations: tuple[tuple[UUID, RelationKind], ...] = ()
    equipment_ids: tuple[UUID, ...] = ()
    document_ids: tuple[tuple[str, str], ...] = ()
    employee_ids: tuple[str, ...] = ()
    attachments: Personal[tuple[AttachmentSnapshot, ...]] = ()


class CustomerMergedInto(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.merged_into.v1"
    survivor_id: UUID


class CustomerAnonymised(CustomerEvent):
    """The customer's key is destroyed: personal data in every event of it reads as erased."""

    type_name: ClassVar[str] = "customerhub.customer.anonymised.v1"
    erases_personal_data: ClassVar[bool] = True


class CustomerDeleted(CustomerEvent):
    type_name: ClassVar[str] = "customerhub.customer.deleted.v1"
    erases_personal_data: ClassVar[bool] = True


class CustomerNameReserved(DomainEvent):
    """Guards name uniqueness among active customers: one reservation stream per name."""

    aggregate: ClassVar[str] = "customer_name"
    type_name: ClassVar[str] = "customerhub.customer_name.reserved.v1"
    customer_id: UUID


class CustomerNameReleased(DomainEvent):
    aggregate: ClassVar[str] = "customer_name"
    type_name: ClassVar[str] = "customerhub.customer_name.released.v1"
    customer_id: UUID


class CustomerNumbersReserved(DomainEvent):
    """A block of the customer number range, handed out by one process to the customers it
    creates; the number each customer got is in its CustomerCreated."""

    aggregate: ClassVar[str] = "number_range"
    type_name: ClassVar[str] = "customerhub.number_range.block_reserved.v1"
    first: int
    count: int


CUSTOMER_EVENTS: tuple[type[DomainEvent], ...] = (
    CustomerCreated,
    CustomerDetailsChanged,
    CustomerConvertedToCompany,
    ProspectConvertedToCustomer,
    CustomerRoleAdded,
    CustomerLabelAdded,
    CustomerLabelRemoved,
    ContactAddedV1,
    ContactAdded,
    ContactChanged,
    MainContactChosen,
    ContactRemoved,
    LocationAdded,
    LocationChanged,
    MainLocationChosen,
    LocationRemoved,
    RelationAdded,
    RelationRemoved,
    EmployeeAssigned,
    EmployeeUnassigned,
    DocumentLinked,
    DocumentUnlinked,
    EquipmentAssigned,
    EquipmentUnassigned,
    EquipmentPlaced,
    ActivityRecorded,
    AttachmentAdded,
    AttachmentRemoved,
    CustomerArchived,
    CustomerReactivated,
    DuplicatesMerged,
    CustomerMergedInto,
    CustomerAnonymised,
    CustomerDeleted,
    CustomerNameReserved,
    CustomerNameReleased,
    CustomerNumbersReserved,
)

# Old type → (the type it is read as, how its data becomes that type's data).
CUSTOMER_UPCASTERS: tuple[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    (ContactAddedV1.type_name, ContactAdded.type_name, contact_added_from_v1),
)
