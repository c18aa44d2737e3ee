"""Named refusals: why the customer said no to a command.

`code` is a stable kebab-case slug (the API puts it in the problem `type`); `detail` says it
to a person. The families tell the edge how to answer: refused (409), invalid (422), gone (410).
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID


class DomainError(Exception):
    code: ClassVar[str] = "domain-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CommandRefused(DomainError):
    """The command is well formed, but the customer's current state forbids it."""

    code = "command-refused"


class NotFound(CommandRefused):
    """A part of the customer (contact, location, relation) the command names does not exist."""

    code = "not-found"


class InvalidCommand(DomainError):
    """The command contradicts itself or the customer's data, whatever the state."""

    code = "invalid-command"


class CustomerGone(DomainError):
    code = "customer-gone"


class CustomerWasDeleted(CustomerGone):
    code = "customer-was-deleted"

    def __init__(self) -> None:
        super().__init__("the customer was deleted")


class CustomerWasMerged(CommandRefused):
    code = "customer-was-merged"

    def __init__(self, survivor_id: UUID) -> None:
        super().__init__(f"the customer was merged into customer {survivor_id}")
        self.survivor_id = survivor_id


class CustomerWasAnonymised(CommandRefused):
    code = "customer-was-anonymised"

    def __init__(self) -> None:
        super().__init__("the customer was anonymised; only its deletion is still possible")


class CustomerIsArchived(CommandRefused):
    code = "customer-is-archived"

    def __init__(self) -> None:
        super().__init__("the customer is archived; reactivate it first")


class NotAProspect(CommandRefused):
    code = "not-a-prospect"

    def __init__(self) -> None:
        super().__init__("only a prospect can be converted to a customer")


class ProspectRoleNotAllowed(CommandRefused):
    code = "prospect-role-not-allowed"

    def __init__(self) -> None:
        super().__init__("a customer can never become a prospect again")


class AlreadyACompany(CommandRefused):
    code = "already-a-company"

    def __init__(self) -> None:
        super().__init__("the customer is already a company")


class InvalidLabel(InvalidCommand):
    code = "invalid-label"

    def __init__(self) -> None:
        super().__init__("a label has 1 to 50 characters")


class ContactNotFound(NotFound):
    code = "contact-not-found"

    def __init__(self, contact_id: UUID) -> None:
        super().__init__(f"the customer has no contact {contact_id}")
        self.contact_id = contact_id


class ContactAlreadyExists(CommandRefused):
    code = "contact-already-exists"

    def __init__(self, contact_id: UUID) -> None:
        super().__init__(f"the customer already has a contact {contact_id}")
        self.contact_id = contact_id


class MainContactCannotBeRemoved(CommandRefused):
    code = "main-contact-cannot-be-removed"

    def __init__(self, contact_id: UUID) -> None:
        super().__init__(
            f"contact {contact_id} is the main contact; uncheck 'main' before removing it"
        )
        self.contact_id = contact_id


class OptInWithoutAddress(InvalidCommand):
    code = "opt-in-without-address"

    def __init__(self, channel: str) -> None:
        address = "an email address" if channel == "email" else "a phone number"
        super().__init__(f"a contact opted into {channel} notifications needs {address}")
        self.channel = channel


class LocationNotFound(NotFound):
    code = "location-not-found"

    def __init__(self, location_id: UUID) -> None:
        super().__init__(f"the customer has no location {location_id}")
        self.location_id = location_id


class LocationAlreadyExists(CommandRefused):
    code = "location-already-exists"

    def __init__(self, location_id: UUID) -> None:
        super().__init__(f"the customer already has a location {location_id}")
        self.location_id = location_id


class MainLocationCannotBeRemoved(CommandRefused):
    code = "main-location-cannot-be-removed"

    def __init__(self, location_id: UUID) -> None:
        super().__init__(
            f"location {location_id} is the main location; make another one main first"
        )
        self.location_id = location_id


class AddressIncomplete(InvalidCommand):
    code = "address-incomplete"

    def __init__(self) -> None:
        super().__init__("an address needs at least a street or a city")


class RelationToSelf(InvalidCommand):
    code = "relation-to-self"

    def __init__(self) -> None:
        super().__init__("a customer cannot be related to itself")


class RelatedCustomerUnknown(InvalidCommand):
    code = "related-customer-unknown"

    def __init__(self, other_customer_id: UUID) -> None:
        super().__init__(
            f"customer {other_customer_id} does not exist, or was merged, deleted or anonymised"
        )
        self.other_customer_id = other_customer_id


class RelationNotFound(NotFound):
    code = "relation-not-found"

    def __init__(self, other_customer_id: UUID) -> None:
        super().__init__(f"the customer has no relation to customer {other_customer_id}")
        self.other_customer_id = other_customer_id


class EquipmentNotOwned(CommandRefused):
    code = "equipment-not-owned"

    def __init__(self, equipment_id: UUID) -> None:
        super().__init__(f"equipment {equipment_id} is not assigned to this customer")
        self.equipment_id = equipment_id


class CustomerHasEquipment(CommandRefused):
    code = "customer-has-equipment"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the customer still has {count} equipment item(s); unassign them, "
            "or archive, merge or anonymise the customer instead"
        )
        self.count = count


class CustomerHasDocuments(CommandRefused):
    code = "customer-has-documents"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the customer has {count} linked document(s) that must be kept; "
            "archive, merge or anonymise the customer instead"
        )
        self.count = count


class CannotMergeIntoItself(InvalidCommand):
    code = "cannot-merge-into-itself"

    def __init__(self) -> None:
        super().__init__("a customer cannot be merged into itself")


class DuplicateNotMergeable(CommandRefused):
    code = "duplicate-not-mergeable"

    def __init__(self, duplicate_id: UUID, why: str) -> None:
        super().__init__(f"customer {duplicate_id} cannot be merged: {why}")
        self.duplicate_id = duplicate_id


class CustomerHasAttachments(CommandRefused):
    code = "customer-has-attachments"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the customer still has {count} attachment(s); remove them, "
            "or archive, merge or anonymise the customer instead"
        )
        self.count = count


class AttachmentNotFound(NotFound):
    code = "attachment-not-found"

    def __init__(self, attachment_id: UUID) -> None:
        super().__init__(f"the customer has no attachment {attachment_id}")
        self.attachment_id = attachment_id


class AttachmentAlreadyExists(CommandRefused):
    code = "attachment-already-exists"

    def __init__(self, attachment_id: UUID) -> None:
        super().__init__(f"the customer already has a different attachment {attachment_id}")
        self.attachment_id = attachment_id


class AttachmentTypeMismatch(InvalidCommand):
    """The declared content type is one we check, and the bytes are something else."""

    code = "attachment-type-mismatch"

    def __init__(self, declared: str, found: str) -> None:
        super().__init__(f"the file is declared as {declared} but its content is {found}")
        self.declared = declared
        self.found = found


class AttachmentTypeUnsupported(DomainError):
    """A declared content type that cannot be checked against the bytes (or is never served
    back, like HTML): refused rather than stored unverified."""

    code = "attachment-type-unsupported"

    def __init__(self, declared: str) -> None:
        super().__init__(
            f"files of type {declared} are not accepted; send the file as "
            "application/octet-stream, or as one of the checked office types"
        )
        self.declared = declared
