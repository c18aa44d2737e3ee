"""What a survivor takes over from its duplicates when they are merged into it."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from customer_command.domain.state import (
    ATTACHMENT_FIELDS,
    CONTACT_FIELDS,
    LOCATION_FIELDS,
    CustomerState,
)
from customerhub_shared.events.customer import (
    AttachmentSnapshot,
    ContactSnapshot,
    DuplicatesMerged,
    LocationSnapshot,
    RelationKind,
)


def duplicates_merged(
    survivor: CustomerState, duplicates: Sequence[CustomerState]
) -> DuplicatesMerged:
    """Everything the duplicates hold that the survivor does not hold yet.

    Contacts and locations keep their ids but not their "main" mark: the survivor's own
    main contact and main location stay main.
    """
    labels = set().union(*(duplicate.labels for duplicate in duplicates)) - survivor.labels
    equipment_ids: set[UUID] = set().union(*(duplicate.equipment_ids for duplicate in duplicates))
    employees: set[str] = set().union(*(duplicate.employees for duplicate in duplicates))
    return DuplicatesMerged(
        customer_id=survivor.id,
        duplicate_ids=tuple(duplicate.id for duplicate in duplicates),
        contacts=_contacts(survivor, duplicates),
        locations=_locations(survivor, duplicates),
        labels=tuple(sorted(labels)),
        relations=_relations(survivor, duplicates),
        equipment_ids=tuple(sorted(equipment_ids - survivor.equipment_ids, key=str)),
        document_ids=_documents(survivor, duplicates),
        employee_ids=tuple(sorted(employees - survivor.employees)),
        attachments=_attachments(survivor, duplicates),
    )


def _attachments(
    survivor: CustomerState, duplicates: Sequence[CustomerState]
) -> tuple[AttachmentSnapshot, ...]:
    return tuple(
        AttachmentSnapshot(**{name: getattr(attachment, name) for name in ATTACHMENT_FIELDS})
        for duplicate in duplicates
        for attachment_id, attachment in duplicate.attachments.items()
        if attachment_id not in survivor.attachments
    )


def _contacts(
    survivor: CustomerState, duplicates: Sequence[CustomerState]
) -> tuple[ContactSnapshot, ...]:
    return tuple(
        ContactSnapshot(
            contact_id=contact_id, **{name: getattr(contact, name) for name in CONTACT_FIELDS}
        )
        for duplicate in duplicates
        for contact_id, contact in duplicate.contacts.items()
        if contact_id not in survivor.contacts
    )


def _locations(
    survivor: CustomerState, duplicates: Sequence[CustomerState]
) -> tuple[LocationSnapshot, ...]:
    return tuple(
        LocationSnapshot(
            location_id=location_id,
            **{name: getattr(location, name) for name in LOCATION_FIELDS},
        )
        for duplicate in duplicates
        for location_id, location in duplicate.locations.items()
        if location_id not in survivor.locations
    )


def _relations(
    survivor: CustomerState, duplicates: Sequence[CustomerState]
) -> tuple[tuple[UUID, RelationKind], ...]:
    """Relations within the merged set would point at the survivor itself; they are dropped.

    Where the survivor (or an earlier duplicate) already relates to a customer, that relation
    is kept as it is.
    """
    merged_set = {survivor.id, *(duplicate.id for duplicate in duplicates)}
    taken: dict[UUID, RelationKind] = {}
    for duplicate in duplicates:
        for other_id, relation in duplicate.relations.items():
            if other_id not in merged_set and other_id not in survivor.relations:
                taken.setdefault(other_id, relation)
    return tuple(taken.items())


def _documents(
    survivor: CustomerState, duplicates: Sequence[CustomerState]
) -> tuple[tuple[str, str], ...]:
    taken: dict[str, str] = {}
    for duplicate in duplicates:
        for document_id, document_type in duplicate.documents.items():
            if document_id not in survivor.documents:
                taken.setdefault(document_id, document_type)
    return tuple(taken.items())
