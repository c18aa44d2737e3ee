"""Commands: what office staff ask of a customer, one small frozen dataclass each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from customer_command.domain.values import (
    ContactPatch,
    CustomerPatch,
    LocationPatch,
    NewActivity,
    NewAttachment,
    NewContact,
    NewCustomer,
    NewLocation,
    NewRelation,
)
from customerhub_shared.events.customer import CustomerRole, RelationKind


@dataclass(frozen=True)
class CustomerCommand:
    customer_id: UUID


@dataclass(frozen=True)
class CreateCustomer(CustomerCommand):
    details: NewCustomer
    # An import creates the customer with its main contact in one append.
    main_contact: tuple[UUID, NewContact] | None = None
    # The creating user's language (token `locale`), when the details give none.
    creator_language: str | None = None


@dataclass(frozen=True)
class ChangeCustomerDetails(CustomerCommand):
    patch: CustomerPatch


@dataclass(frozen=True)
class AddLabel(CustomerCommand):
    label: str


@dataclass(frozen=True)
class RemoveLabel(CustomerCommand):
    label: str


@dataclass(frozen=True)
class AddContact(CustomerCommand):
    contact_id: UUID
    contact: NewContact
    at: datetime | None = None


@dataclass(frozen=True)
class ChangeContact(CustomerCommand):
    contact_id: UUID
    patch: ContactPatch
    at: datetime | None = None


@dataclass(frozen=True)
class RemoveContact(CustomerCommand):
    contact_id: UUID


@dataclass(frozen=True)
class AddLocation(CustomerCommand):
    location_id: UUID
    location: NewLocation


@dataclass(frozen=True)
class ChangeLocation(CustomerCommand):
    location_id: UUID
    patch: LocationPatch


@dataclass(frozen=True)
class RemoveLocation(CustomerCommand):
    location_id: UUID


@dataclass(frozen=True)
class MakeMainLocation(CustomerCommand):
    location_id: UUID


@dataclass(frozen=True)
class ConvertToCustomer(CustomerCommand):
    pass


@dataclass(frozen=True)
class ConvertToCompany(CustomerCommand):
    pass


@dataclass(frozen=True)
class AddRole(CustomerCommand):
    role: CustomerRole


@dataclass(frozen=True)
class ArchiveCustomer(CustomerCommand):
    reason: str | None = None


@dataclass(frozen=True)
class ReactivateCustomer(CustomerCommand):
    pass


@dataclass(frozen=True)
class AddRelation(CustomerCommand):
    relation: NewRelation


@dataclass(frozen=True)
class PlaceEquipment(CustomerCommand):
    equipment_id: UUID
    location_id: UUID | None


@dataclass(frozen=True)
class RecordActivity(CustomerCommand):
    activity_id: UUID
    activity: NewActivity
    recorded_at: datetime
    author: str


@dataclass(frozen=True)
class AddAttachment(CustomerCommand):
    """A file as uploaded: its type is checked against its bytes before anything is stored."""

    attachment_id: UUID
    file_name: str
    declared_type: str | None
    added_by: str
    added_at: datetime
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class RecordAttachment(CustomerCommand):
    """The customer lists a file whose bytes are already in the blob store."""

    attachment_id: UUID
    attachment: NewAttachment
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class RemoveAttachment(CustomerCommand):
    attachment_id: UUID
    removed_by: str


@dataclass(frozen=True)
class RemoveRelation(CustomerCommand):
    other_customer_id: UUID


@dataclass(frozen=True)
class RelateBack(CustomerCommand):
    """Record the other side of a relation `other_customer_id` recorded."""

    other_customer_id: UUID
    relation: RelationKind


@dataclass(frozen=True)
class UnrelateBack(CustomerCommand):
    other_customer_id: UUID


@dataclass(frozen=True)
class AssignEmployee(CustomerCommand):
    employee_id: str


@dataclass(frozen=True)
class UnassignEmployee(CustomerCommand):
    employee_id: str


@dataclass(frozen=True)
class LinkDocument(CustomerCommand):
    document_id: str
    document_type: str


@dataclass(frozen=True)
class UnlinkDocument(CustomerCommand):
    document_id: str


@dataclass(frozen=True)
class ReceiveEquipment(CustomerCommand):
    """Items whose own streams now name this customer as owner (the ownership reconciler)."""

    equipment_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class ReleaseEquipment(CustomerCommand):
    """Items whose own streams now name another owner (the ownership reconciler)."""

    equipment_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class MergeCustomers(CustomerCommand):
    duplicate_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class AnonymiseCustomer(CustomerCommand):
    pass


@dataclass(frozen=True)
class DeleteCustomer(CustomerCommand):
    pass
