"""The Customer aggregate: decides each command against the rules and records its events.

A command records nothing when it would change nothing, and raises a named DomainError
when the rules refuse it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from customer_command.domain import errors, names
from customer_command.domain.merge import duplicates_merged
from customer_command.domain.state import (
    DETAIL_FIELDS,
    LOCATION_FIELDS,
    Attachment,
    Contact,
    CustomerState,
    Location,
)
from customer_command.domain.values import (
    Address,
    ContactPatch,
    CustomerPatch,
    LocationPatch,
    NewActivity,
    NewAttachment,
    NewContact,
    NewCustomer,
    NewLocation,
    NewRelation,
    opted_in_without_address,
)
from customerhub_shared.events.customer import (
    ActivityRecorded,
    AttachmentAdded,
    AttachmentRemoved,
    ContactAdded,
    ContactChanged,
    ContactRemoved,
    CustomerAnonymised,
    CustomerArchived,
    CustomerConvertedToCompany,
    CustomerCreated,
    CustomerDeleted,
    CustomerDetailsChanged,
    CustomerLabelAdded,
    CustomerLabelRemoved,
    CustomerMergedInto,
    CustomerReactivated,
    CustomerRole,
    CustomerRoleAdded,
    DocumentLinked,
    DocumentUnlinked,
    EmployeeAssigned,
    EmployeeUnassigned,
    EquipmentAssigned,
    EquipmentPlaced,
    EquipmentUnassigned,
    LocationAdded,
    LocationChanged,
    LocationRemoved,
    LocationSnapshot,
    MainContactChosen,
    MainLocationChosen,
    ProspectConvertedToCustomer,
    RelationAdded,
    RelationKind,
    RelationRemoved,
)

INVERSE_RELATION: dict[RelationKind, RelationKind] = {
    "parent": "child",
    "child": "parent",
    "related": "related",
}
_CONTACT_PATCH_FIELDS = (
    "name",
    "email",
    "phone",
    "position",
    "notify",
    "equipment_alerts",
    "portal_access",
)
_MAX_LABEL_LENGTH = 50


def _address_fields(address: Address | LocationPatch) -> dict[str, Any]:
    return {name: getattr(address, name) for name in LOCATION_FIELDS}


def _changed(current: object, patch: Any, names: Sequence[str]) -> dict[str, Any]:
    """The fields the patch names whose value differs from the current one, in `names` order."""
    return {
        name: getattr(patch, name)
        for name in names
        if name in patch.model_fields_set and getattr(patch, name) != getattr(current, name)
    }


class Customer(CustomerState):
    @classmethod
    def create(
        cls,
        customer_id: UUID,
        new: NewCustomer,
        *,
        customer_number: str | None,
        main_location_id: UUID,
    ) -> Customer:
        """A client-supplied customer number wins over the one allocated from the range."""
        customer = cls(customer_id)
        details = new.model_dump(exclude={"main_location", "customer_number"})
        main_location = LocationSnapshot(
            location_id=main_location_id, **_address_fields(new.main_location)
        )
        customer._record(
            CustomerCreated(
                customer_id=customer_id,
                **details,
                customer_number=new.customer_number or customer_number,
                main_location_id=main_location_id,
                main_location=main_location,
            )
        )
        return customer

    @property
    def holds_name(self) -> bool:
        """Names are unique among active customers only."""
        return self.status == "active" and self.name is not None

    @property
    def accepts_relations(self) -> bool:
        """Only a customer in use (active or archived) can be the other side of a relation."""
        return self.merged_into is None and self.status in ("active", "archived")

    @property
    def name_key(self) -> str | None:
        return names.name_key(self.name) if self.name is not None else None

    # -- guards ------------------------------------------------------------------------------

    def _ensure_exists(self) -> None:
        if self.merged_into is not None:
            raise errors.CustomerWasMerged(self.merged_into)
        if self.status == "deleted":
            raise errors.CustomerWasDeleted()

    def _ensure_usable(self) -> None:
        self._ensure_exists()
        if self.status == "anonymised":
            raise errors.CustomerWasAnonymised()

    def _contact(self, contact_id: UUID) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise errors.ContactNotFound(contact_id)
        return contact

    def _location(self, location_id: UUID) -> Location:
        location = self.locations.get(location_id)
        if location is None:
            raise errors.LocationNotFound(location_id)
        return location

    # -- details, kind, roles, labels ---------------------------------------------------------

    def change_details(self, patch: CustomerPatch) -> None:
        self._ensure_usable()
        changes = _changed(self, patch, DETAIL_FIELDS)
        if changes:
            self._record(
                CustomerDetailsChanged(customer_id=self.id, changed=tuple(changes), **changes)
            )

    def convert_to_company(self) -> None:
        self._ensure_usable()
        if self.kind == "company":
            raise errors.AlreadyACompany()
        self._record(CustomerConvertedToCompany(customer_id=self.id))

    def convert_to_customer(self) -> None:
        """A prospect becomes a customer once; the prospect role is gone for good."""
        self._ensure_usable()
        if "prospect" not in self.roles:
            raise errors.NotAProspect()
        self._record(ProspectConvertedToCustomer(customer_id=self.id))

    def add_role(self, role: CustomerRole) -> None:
        self._ensure_usable()
        if role in self.roles:
            return
        if role == "prospect" and "customer" in self.roles:
            raise errors.ProspectRoleNotAllowed()
        if role == "customer" and "prospect" in self.roles:
            # Giving a prospect the customer role is what converting it means.
            self._record(ProspectConvertedToCustomer(customer_id=self.id))
            return
        self._record(CustomerRoleAdded(customer_id=self.id, role=role))

    def add_label(self, label: str) -> None:
        self._ensure_usable()
        label = label.strip()
        if not 1 <= len(label) <= _MAX_LABEL_LENGTH:
            raise errors.InvalidLabel()
        if label not in self.labels:
            self._record(CustomerLabelAdded(customer_id=self.id, label=label))

    def remove_label(self, label: str) -> None:
        self._ensure_usable()
        label = label.strip()
        if label in self.labels:
            self._record(CustomerLabelRemoved(customer_id=self.id, label=label))

    # -- contacts ------------------------------------------------------------------------------

    def add_contact(self, contact_id: UUID, new: NewContact, *, at: datetime | None = None) -> None:
        """The first contact becomes the main one, as does any contact added as main.

        `at` is now: a contact given portal access is invited at that time.
        """
        self._ensure_usable()
        if contact_id in self.contacts:
            raise errors.ContactAlreadyExists(contact_id)
        given_name, family_name = new.names()
        details = {name: getattr(new, name) for name in _CONTACT_PATCH_FIELDS if name != "name"}
        invited_at = at if new.portal_access else None
        self._record(
            ContactAdded(
                customer_id=self.id,
                contact_id=contact_id,
                portal_invited_at=invited_at,
                given_name=given_name,
                family_name=family_name,
                **details,
            )
        )
        if new.main or self.main_contact_id is None:
            self._record(MainContactChosen(customer_id=self.id, contact_id=contact_id))

    def change_contact(
        self, contact_id: UUID, patch: ContactPatch, *, at: datetime | None = None
    ) -> None:
        self._ensure_usable()
        contact = self._contact(contact_id)
        changes = _changed(contact, patch, _CONTACT_PATCH_FIELDS)
        if "portal_access" in changes:
            changes["portal_invited_at"] = at if changes["portal_access"] else None
        changed = replace(contact, **changes)
        channel = opted_in_without_address(changed.notify, changed.email, changed.phone)
        if channel is not None:
            raise errors.OptInWithoutAddress(channel)
        if changes:
            self._record(
                ContactChanged(
                    customer_id=self.id, contact_id=contact_id, changed=tuple(changes), **changes
                )
            )
        self._choose_main_contact(contact_id, patch.main)

    def _choose_main_contact(self, contact_id: UUID, main: bool | None) -> None:
        is_main = self.main_contact_id == contact_id
        if main is None or main == is_main:
            return
        # Unchecking "main" leaves the customer without a main contact until one is chosen.
        chosen = contact_id if main else None
        self._record(MainContactChosen(customer_id=self.id, contact_id=chosen))

    def remove_contact(self, contact_id: UUID) -> None:
        self._ensure_usable()
        self._contact(contact_id)
        if self.main_contact_id == contact_id:
            raise errors.MainContactCannotBeRemoved(contact_id)
        self._record(ContactRemoved(customer_id=self.id, contact_id=contact_id))

    # -- locations ------------------------------------------------------------------------------

    def add_location(self, location_id: UUID, new: NewLocation) -> None:
        self._ensure_usable()
        if location_id in self.locations:
            raise errors.LocationAlreadyExists(location_id)
        self._record(
            LocationAdded(customer_id=self.id, location_id=location_id, **_address_fields(new))
        )
        if new.main:
            self._record(MainLocationChosen(customer_id=self.id, location_id=location_id))

    def change_location(self, location_id: UUID, patch: LocationPatch) -> None:
        self._ensure_usable()
        location = self._location(location_id)
        changes = _changed(location, patch, LOCATION_FIELDS)
        changed = replace(location, **changes)
        if changed.street is None and changed.city is None:
            raise errors.AddressIncomplete()
        if changes:
            self._record(
                LocationChanged(
                    customer_id=self.id, location_id=location_id, changed=tuple(changes), **changes
                )
            )

    def make_main_location(self, location_id: UUID) -> None:
        self._ensure_usable()
        self._location(location_id)
        if self.main_location_id != location_id:
            self._record(MainLocationChosen(customer_id=self.id, location_id=location_id))

    def remove_location(self, location_id: UUID) -> None:
        """There is always exactly one main location, so it cannot be the one removed."""
        self._ensure_usable()
        self._location(location_id)
        if self.main_location_id == location_id:
            raise errors.MainLocationCannotBeRemoved(location_id)
        self._record(LocationRemoved(customer_id=self.id, location_id=location_id))

    # -- relations, employees, documents, equipment -----------------------------------------

    def add_relation(self, new: NewRelation) -> None:
        self._ensure_usable()
        if new.other_customer_id == self.id:
            raise errors.RelationToSelf()
        if self.relations.get(new.other_customer_id) != new.relation:
            self._record(
                RelationAdded(
                    customer_id=self.id,
                    other_customer_id=new.other_customer_id,
                    relation=new.relation,
                )
            )

    def relate_back(self, other_customer_id: UUID, relation: RelationKind) -> None:
        """The other side of a relation another customer recorded: A parent of S, S child of A."""
        self.add_relation(
            NewRelation(other_customer_id=other_customer_id, relation=INVERSE_RELATION[relation])
        )

    def unrelate_back(self, other_customer_id: UUID) -> None:
        if other_customer_id in self.relations:
            self.remove_relation(other_customer_id)

    def remove_relation(self, other_customer_id: UUID) -> None:
        self._ensure_usable()
        if other_customer_id not in self.relations:
            raise errors.RelationNotFound(other_customer_id)
        self._record(RelationRemoved(customer_id=self.id, other_customer_id=other_customer_id))

    def record_activity(
        self, activity_id: UUID, new: NewActivity, *, occurred_at: datetime, author: str
    ) -> None:
        """A note on the timeline; archived customers still get them (a last call, a visit)."""
        self._ensure_usable()
        self._record(
            ActivityRecorded(
                customer_id=self.id,
                activity_id=activity_id,
                kind=new.kind,
                text=new.text,
                occurred_at=new.occurred_at or occurred_at,
                author=author,
            )
        )

    # -- attachments ---------------------------------------------------------------------------

    def listed_attachments(self) -> list[Attachment]:
        """Oldest first; a merged customer answers with a redirect to its survivor."""
        self._ensure_exists()
        return sorted(self.attachments.values(), key=lambda item: item.added_at)

    def attachment(self, attachment_id: UUID) -> Attachment:
        self._ensure_exists()
        attachment = self.attachments.get(attachment_id)
        if attachment is None:
            raise errors.AttachmentNotFound(attachment_id)
        return attachment

    def add_attachment(
        self, attachment_id: UUID, new: NewAttachment, *, added_by: str, at: datetime
    ) -> None:
        """Archived customers still get files (a last invoice); adding the same file under the
        same id again (a retry) is no change."""
        self._ensure_usable()
        listed = self.attachments.get(attachment_id)
        if listed is not None:
            if listed.sha256 != new.sha256:
                raise errors.AttachmentAlreadyExists(attachment_id)
            return
        self._record(
            AttachmentAdded(
                customer_id=self.id,
                attachment_id=attachment_id,
                file_name=new.file_name,
                size=new.size,
                content_type=new.content_type,
                sha256=new.sha256,
                added_by=added_by,
                added_at=at,
            )
        )

    def remove_attachment(self, attachment_id: UUID, *, removed_by: str) -> None:
        self._ensure_usable()
        self._record_removal(self.attachment(attachment_id), removed_by)

    def _record_removal(self, attachment: Attachment, removed_by: str) -> None:
        self._record(
            AttachmentRemoved(
                customer_id=self.id,
                attachment_id=attachment.attachment_id,
                file_name=attachment.file_name,
                size=attachment.size,
                content_type=attachment.content_type,
                sha256=attachment.sha256,
                removed_by=removed_by,
            )
        )

    def assign_employee(self, employee_id: str) -> None:
        self._ensure_usable()
        if employee_id not in self.employees:
            self._record(EmployeeAssigned(customer_id=self.id, employee_id=employee_id))

    def unassign_employee(self, employee_id: str) -> None:
        self._ensure_usable()
        if employee_id in self.employees:
            self._record(EmployeeUnassigned(customer_id=self.id, employee_id=employee_id))

    def link_document(self, document_id: str, document_type: str) -> None:
        self._ensure_usable()
        if self.documents.get(document_id) != document_type:
            self._record(
                DocumentLinked(
                    customer_id=self.id, document_id=document_id, document_type=document_type
                )
            )

    def unlink_document(self, document_id: str) -> None:
        # Allowed once anonymised: when the kept documents expire, the customer can be deleted.
        self._ensure_exists()
        if document_id in self.documents:
            self._record(DocumentUnlinked(customer_id=self.id, document_id=document_id))

    def ensure_can_receive_equipment(self) -> None:
        """Equipment goes only to a customer in use: not archived, merged, anonymised, deleted."""
        self._ensure_usable()
        if self.status == "archived":
            raise errors.CustomerIsArchived()

    def ensure_can_release_equipment(self) -> None:
        # Allowed once archived or anonymised: equipment transferred away must leave its owner.
        self._ensure_exists()

    def assign_equipment(self, equipment_id: UUID) -> None:
        self.ensure_can_receive_equipment()
        if equipment_id not in self.equipment_ids:
            self._record(EquipmentAssigned(customer_id=self.id, equipment_id=equipment_id))

    def unassign_equipment(self, equipment_id: UUID) -> None:
        self.ensure_can_release_equipment()
        if equipment_id not in self.equipment_ids:
            raise errors.EquipmentNotOwned(equipment_id)
        self._record(EquipmentUnassigned(customer_id=self.id, equipment_id=equipment_id))

    def receive_equipment(self, equipment_ids: Iterable[UUID]) -> None:
        """Record items whose own streams now name this customer as their owner.

        An item already listed is no change, whatever the customer's state now: recording an
        owner change a second time (after a crash) must not refuse what was once accepted.
        """
        for equipment_id in equipment_ids:
            if equipment_id not in self.equipment_ids:
                self.assign_equipment(equipment_id)

    def release_equipment(self, equipment_ids: Iterable[UUID]) -> None:
        """Record items whose own streams name another owner now (no change if not listed).

        A merged duplicate or a deleted customer keeps what it listed: a redirect and a
        tombstone record nothing more.
        """
        if self.merged_into is not None or self.status == "deleted":
            return
        for equipment_id in equipment_ids:
            if equipment_id in self.equipment_ids:
                self.unassign_equipment(equipment_id)

    def place_equipment(self, equipment_id: UUID, location_id: UUID | None) -> None:
        """Record where an item it lists stands, as the item's stream says.

        No change for an item it does not list, a closed customer, or a location it no longer
        has (removed meanwhile: the item stands at none said).
        """
        if self.merged_into is not None or self.status in ("deleted", "anonymised"):
            return
        if equipment_id not in self.equipment_ids:
            return
        if location_id is not None and location_id not in self.locations:
            location_id = None
        if self.equipment_locations.get(equipment_id) != location_id:
            self._record(
                EquipmentPlaced(
                    customer_id=self.id, equipment_id=equipment_id, location_id=location_id
                )
            )

    # -- lifecycle ---------------------------------------------------------------------------

    def archive(self, reason: str | None = None) -> None:
        self._ensure_usable()
        if self.status != "archived":
            self._record(CustomerArchived(customer_id=self.id, reason=reason))

    def reactivate(self) -> None:
        self._ensure_usable()
        if self.status != "active":
            self._record(CustomerReactivated(customer_id=self.id))

    def delete(self) -> None:
        """Deletion is the exception: refused while equipment, kept documents or attachments
        are linked."""
        self._ensure_exists()
        if self.equipment_ids:
            raise errors.CustomerHasEquipment(len(self.equipment_ids))
        if self.documents:
            raise errors.CustomerHasDocuments(len(self.documents))
        if self.attachments:
            raise errors.CustomerHasAttachments(len(self.attachments))
        self._record(CustomerDeleted(customer_id=self.id))

    def anonymise(self, *, by: str = "customerhub") -> None:
        """Anonymising twice is a no-op, so a retried request cannot fail half-way.

        The attachments go with the personal data: each is recorded removed first (the caller
        deletes their bytes, then the key, then appends)."""
        self._ensure_exists()
        if self.status != "anonymised":
            # Recorded without the name and hash: the key they would be sealed with is gone.
            for attachment in list(self.attachments.values()):
                self._record_removal(attachment.erased(), by)
            self._record(CustomerAnonymised(customer_id=self.id))

    def forget_with_survivor(self) -> None:
        """A merged duplicate whose survivor is anonymised or deleted: its own events hold the
        same person's data under its own key, destroyed with the survivor's; recording it
        here makes every view erase its copy too. The duplicate stays a redirect."""
        if self.merged_into is not None and not self.personal_data_erased:
            self._record(CustomerAnonymised(customer_id=self.id))

    # -- merge -------------------------------------------------------------------------------

    def absorb(self, duplicates: Sequence[Customer]) -> None:
        """This customer survives and takes over what its duplicates hold.

        A duplicate already merged into this survivor is accepted, so an interrupted merge is
        completed by repeating it; one this survivor already absorbed is skipped.
        """
        self._ensure_usable()
        if self.status == "archived":
            raise errors.CustomerIsArchived()
        unique = {duplicate.id: duplicate for duplicate in duplicates}
        for duplicate in unique.values():
            self._check_mergeable(duplicate)
        to_absorb = [dup for dup_id, dup in unique.items() if dup_id not in self.absorbed_ids]
        if to_absorb:
            self._record(duplicates_merged(self, to_absorb))

    def _check_mergeable(self, duplicate: Customer) -> None:
        if duplicate.id == self.id:
            raise errors.CannotMergeIntoItself()
        if duplicate.merged_into not in (None, self.id):
            raise errors.DuplicateNotMergeable(duplicate.id, "it was merged into another customer")
        if duplicate.status in ("deleted", "anonymised"):
            raise errors.DuplicateNotMergeable(duplicate.id, f"it was {duplicate.status}")

    def merge_into(self, survivor_id: UUID) -> None:
        """This customer is a duplicate: from now on it only redirects to the survivor."""
        self._ensure_usable()
        if survivor_id == self.id:
            raise errors.CannotMergeIntoItself()
        self._record(CustomerMergedInto(customer_id=self.id, survivor_id=survivor_id))
