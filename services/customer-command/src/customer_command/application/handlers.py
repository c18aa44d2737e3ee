"""Command handlers: load the customer, let it decide, save what it recorded.

Most commands change one customer and are a line in CHANGES, run by `change_customer`.
Create, merge, anonymise and delete touch more than one stream or a key and have their own;
adding and removing an attachment write its bytes to the blob store around the change.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar
from uuid import UUID

from customer_command.adapters.repository import CustomerRepository, LoadedCustomer
from customer_command.application import commands as c
from customer_command.application.context import (
    CommandContext,
    CommandResult,
    CustomerNotFound,
    VersionMismatch,
)
from customer_command.application.duplicates import DuplicateFinder, PossibleDuplicate
from customer_command.application.names import NameReservations, NameTaken
from customer_command.application.numbers import CustomerNumberRange
from customer_command.domain.content_types import checked_content_type
from customer_command.domain.customer import Customer
from customer_command.domain.errors import (
    CustomerWasAnonymised,
    CustomerWasMerged,
    RelatedCustomerUnknown,
)
from customer_command.domain.names import name_key
from customer_command.domain.state import Attachment, attachment_blob_key
from customer_command.domain.values import NewAttachment
from customerhub_shared.blobs import BlobStore
from customerhub_shared.blobs.sealing import seal
from customerhub_shared.eventstore import ConcurrencyConflict
from customerhub_shared.keyring import KeyDestroyed, KeyRing

NameUniqueness = Literal["reject", "warn"]


@dataclass(frozen=True)
class CustomerPorts:
    customers: CustomerRepository
    names: NameReservations
    numbers: CustomerNumberRange
    keyring: KeyRing
    blobs: BlobStore
    name_uniqueness: NameUniqueness = "reject"
    duplicates: DuplicateFinder | None = None
    supplier_numbers: CustomerNumberRange | None = None
    default_language: str = "en"

    def number_range(self, roles: tuple[str, ...]) -> CustomerNumberRange:
        """Suppliers alone number from their range when there is one; everyone else the
        customer range."""
        if self.supplier_numbers is not None and set(roles) == {"supplier"}:
            return self.supplier_numbers
        return self.numbers


Cmd = TypeVar("Cmd", bound=c.CustomerCommand)
Change = Callable[[Customer, c.CustomerCommand], None]


def _change(
    kind: type[Cmd], decide: Callable[[Customer, Cmd], None]
) -> tuple[type[c.CustomerCommand], Change]:
    """One line of CHANGES; typed, so a command attribute that does not exist fails mypy."""

    def apply(customer: Customer, cmd: c.CustomerCommand) -> None:
        assert isinstance(cmd, kind)
        decide(customer, cmd)

    return kind, apply


CHANGES: dict[type[c.CustomerCommand], Change] = dict(
    [
        _change(c.ChangeCustomerDetails, lambda customer, cmd: customer.change_details(cmd.patch)),
        _change(c.AddLabel, lambda customer, cmd: customer.add_label(cmd.label)),
        _change(c.RemoveLabel, lambda customer, cmd: customer.remove_label(cmd.label)),
        _change(
            c.AddContact,
            lambda customer, cmd: customer.add_contact(cmd.contact_id, cmd.contact, at=cmd.at),
        ),
        _change(
            c.ChangeContact,
            lambda customer, cmd: customer.change_contact(cmd.contact_id, cmd.patch, at=cmd.at),
        ),
        _change(c.RemoveContact, lambda customer, cmd: customer.remove_contact(cmd.contact_id)),
        _change(
            c.AddLocation,
            lambda customer, cmd: customer.add_location(cmd.location_id, cmd.location),
        ),
        _change(
            c.ChangeLocation,
            lambda customer, cmd: customer.change_location(cmd.location_id, cmd.patch),
        ),
        _change(c.RemoveLocation, lambda customer, cmd: customer.remove_location(cmd.location_id)),
        _change(
            c.MakeMainLocation, lambda customer, cmd: customer.make_main_location(cmd.location_id)
        ),
        _change(c.ConvertToCustomer, lambda customer, cmd: customer.convert_to_customer()),
        _change(c.ConvertToCompany, lambda customer, cmd: customer.convert_to_company()),
        _change(c.AddRole, lambda customer, cmd: customer.add_role(cmd.role)),
        _change(c.ArchiveCustomer, lambda customer, cmd: customer.archive(cmd.reason)),
        _change(c.ReactivateCustomer, lambda customer, cmd: customer.reactivate()),
        _change(c.AddRelation, lambda customer, cmd: customer.add_relation(cmd.relation)),
        _change(
            c.RemoveRelation, lambda customer, cmd: customer.remove_relation(cmd.other_customer_id)
        ),
        _change(
            c.RelateBack,
            lambda customer, cmd: customer.relate_back(cmd.other_customer_id, cmd.relation),
        ),
        _change(
            c.UnrelateBack, lambda customer, cmd: customer.unrelate_back(cmd.other_customer_id)
        ),
        _change(
            c.RecordActivity,
            lambda customer, cmd: customer.record_activity(
                cmd.activity_id, cmd.activity, occurred_at=cmd.recorded_at, author=cmd.author
            ),
        ),
        _change(c.AssignEmployee, lambda customer, cmd: customer.assign_employee(cmd.employee_id)),
        _change(
            c.UnassignEmployee, lambda customer, cmd: customer.unassign_employee(cmd.employee_id)
        ),
        _change(
            c.LinkDocument,
            lambda customer, cmd: customer.link_document(cmd.document_id, cmd.document_type),
        ),
        _change(c.UnlinkDocument, lambda customer, cmd: customer.unlink_document(cmd.document_id)),
        _change(
            c.ReceiveEquipment, lambda customer, cmd: customer.receive_equipment(cmd.equipment_ids)
        ),
        _change(
            c.ReleaseEquipment, lambda customer, cmd: customer.release_equipment(cmd.equipment_ids)
        ),
        _change(
            c.RecordAttachment,
            lambda customer, cmd: customer.add_attachment(
                cmd.attachment_id, cmd.attachment, added_by=cmd.added_by, at=cmd.added_at
            ),
        ),
        _change(
            c.RemoveAttachment,
            lambda customer, cmd: customer.remove_attachment(
                cmd.attachment_id, removed_by=cmd.removed_by
            ),
        ),
        _change(
            c.PlaceEquipment,
            lambda customer, cmd: customer.place_equipment(cmd.equipment_id, cmd.location_id),
        ),
    ]
)


def _check_if_match(ctx: CommandContext, customer: Customer) -> None:
    if ctx.expected_version is not None and ctx.expected_version != customer.version:
        raise VersionMismatch(ctx.expected_version, customer.version)


def _held_name(customer: Customer) -> str | None:
    return customer.name_key if customer.holds_name else None


async def _claim_name(
    ports: CustomerPorts, key: str, customer_id: UUID, ctx: CommandContext
) -> list[dict[str, Any]]:
    """Reserve the name; in "warn" mode a taken name is a warning instead of a refusal."""
    try:
        await ports.names.reserve(key, customer_id, ctx)
    except NameTaken as taken:
        if ports.name_uniqueness == "reject":
            raise
        return [{"code": "possible-duplicate", "customer_id": str(taken.holder_id)}]
    return []


async def change_customer(
    cmd: c.CustomerCommand, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    # Without If-Match the client asked for "apply to the current state": a concurrent
    # writer only makes us decide again on fresher state. With If-Match, it is a conflict.
    attempts = 1 if ctx.expected_version is not None else 5
    for attempt in range(attempts):
        loaded = await ports.customers.get(cmd.customer_id)
        try:
            return await _change_once(cmd, ctx, ports, loaded)
        except ConcurrencyConflict:
            if attempt + 1 == attempts:
                raise
    raise AssertionError("unreachable")


async def _change_once(
    cmd: c.CustomerCommand, ctx: CommandContext, ports: CustomerPorts, loaded: LoadedCustomer
) -> CommandResult:
    customer = loaded.customer
    _check_if_match(ctx, customer)
    name_before = _held_name(customer)
    CHANGES[type(cmd)](customer, cmd)
    if not customer.pending:
        return CommandResult(customer.id, customer.version, loaded.position)
    name_after = _held_name(customer)
    warnings: list[dict[str, Any]] = []
    if name_after is not None and name_after != name_before:
        warnings = await _claim_name(ports, name_after, customer.id, ctx)
    result = await ports.customers.save(customer, ctx)
    assert result is not None
    if name_before is not None and name_before != name_after:
        await ports.names.release(name_before, customer.id, ctx)
    extra = {"warnings": warnings} if warnings else {}
    return CommandResult(customer.id, result.version, result.position, extra)


async def create_customer(
    cmd: c.CreateCustomer, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    language = cmd.details.language or cmd.creator_language or ports.default_language
    details = cmd.details
    if details.language != language:
        details = details.model_copy(update={"language": language})
    # The duplicate search only reads, and the customer's key is of use to no one until its
    # events are appended: both go on while the name is claimed, not after it.
    searching = asyncio.ensure_future(_possible_duplicates(cmd, ports))
    keying = asyncio.ensure_future(ports.customers.key(cmd.customer_id))
    try:
        warnings = await _claim_name(ports, name_key(details.name), cmd.customer_id, ctx)
        possible, key = await searching, await keying
    except BaseException:  # neither is left running unwatched
        searching.cancel()
        keying.cancel()
        raise
    number = details.customer_number or await ports.number_range(details.roles).allocate(ctx)
    customer = Customer.create(
        cmd.customer_id,
        details,
        customer_number=number,
        main_location_id=uuid.uuid5(cmd.customer_id, "main-location"),
    )
    if cmd.main_contact is not None:
        customer.add_contact(*cmd.main_contact)
    result = await ports.customers.save(customer, ctx, key=key)
    assert result is not None
    extra: dict[str, Any] = {"customer_number": customer.customer_number}
    if possible is not None:
        extra["possible_duplicates"] = [duplicate.answer() for duplicate in possible]
    if warnings:
        extra["warnings"] = warnings
    return CommandResult(customer.id, result.version, result.position, extra)


async def _possible_duplicates(
    cmd: c.CreateCustomer, ports: CustomerPorts
) -> list[PossibleDuplicate] | None:
    if ports.duplicates is None:
        return None
    details = cmd.details
    return await ports.duplicates.similar(
        name=details.name, email=details.email, phone=details.phone, exclude_id=cmd.customer_id
    )


async def merge_customers(
    cmd: c.MergeCustomers, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    """Duplicates first become redirects, then the survivor absorbs them.

    A crash between the two leaves redirects whose content the survivor has not absorbed
    yet; repeating the merge completes it, since the survivor accepts duplicates already
    merged into it.
    """
    survivor = await ports.customers.get(cmd.customer_id)
    _check_if_match(ctx, survivor.customer)
    duplicates = [await ports.customers.get(dup_id) for dup_id in dict.fromkeys(cmd.duplicate_ids)]
    survivor.customer.absorb([dup.customer for dup in duplicates])
    for dup in duplicates:
        released = _held_name(dup.customer)
        if dup.customer.merged_into != survivor.customer.id:
            dup.customer.merge_into(survivor.customer.id)
            await ports.customers.save(dup.customer, ctx)
        if released is not None:
            await ports.names.release(released, dup.customer.id, ctx)
    result = await ports.customers.save(survivor.customer, ctx)
    assert result is not None
    return CommandResult(survivor.customer.id, result.version, result.position)


async def relate_customers(
    cmd: c.AddRelation, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    """Both sides record a relation; the other customer must exist and be in use.

    The other side is written second: a crash in between is completed by repeating the
    request (each side records nothing when it already holds the relation).
    """
    other_id = cmd.relation.other_customer_id
    if other_id != cmd.customer_id:
        other = await ports.customers.find(other_id)
        if other is None or not other.customer.accepts_relations:
            raise RelatedCustomerUnknown(other_id)
    result = await change_customer(cmd, ctx, ports)
    back = c.RelateBack(other_id, cmd.customer_id, cmd.relation.relation)
    return _covering(
        result, await change_customer(back, replace(ctx, expected_version=None), ports)
    )


async def unrelate_customers(
    cmd: c.RemoveRelation, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    result = await change_customer(cmd, ctx, ports)
    other = await ports.customers.find(cmd.other_customer_id)
    if other is not None and other.customer.accepts_relations:
        back = c.UnrelateBack(cmd.other_customer_id, cmd.customer_id)
        return _covering(
            result, await change_customer(back, replace(ctx, expected_version=None), ports)
        )
    return result


def _covering(result: CommandResult, other_side: CommandResult) -> CommandResult:
    """The answer for the customer, at the position that covers the other side's write too,
    so a read with `min_position` sees both sides."""
    positions = [p for p in (result.position, other_side.position) if p is not None]
    return replace(result, position=max(positions, default=None))


async def add_attachment(
    cmd: c.AddAttachment, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    """The bytes are stored first, sealed with the customer's key, then the event that lists
    them. A refusal after storing them deletes them again, unless the customer lists them after
    all (a retry whose first attempt was recorded)."""
    attachment = NewAttachment(
        file_name=cmd.file_name,
        content_type=checked_content_type(cmd.declared_type, cmd.content),
        size=len(cmd.content),
        sha256=hashlib.sha256(cmd.content).hexdigest(),
    )
    record = c.RecordAttachment(
        cmd.customer_id, cmd.attachment_id, attachment, cmd.added_by, cmd.added_at
    )
    trial = (await ports.customers.get(cmd.customer_id)).customer
    _check_if_match(ctx, trial)
    CHANGES[c.RecordAttachment](trial, record)  # refused before any byte is stored
    key = attachment_blob_key(cmd.attachment_id)
    try:
        customer_key = await ports.keyring.create_key(cmd.customer_id)
    except KeyDestroyed:
        raise CustomerWasAnonymised() from None
    await ports.blobs.put(key, seal(customer_key, cmd.attachment_id, cmd.content))
    try:
        result = await change_customer(record, ctx, ports)
    except Exception:
        listed = await ports.customers.find(cmd.customer_id)
        if listed is None or cmd.attachment_id not in listed.customer.attachments:
            await ports.blobs.delete(key)
        raise
    checked = {"content_type": attachment.content_type, "size": attachment.size}
    return replace(result, extra={**result.extra, **checked, "sha256": attachment.sha256})


async def remove_attachment(
    cmd: c.RemoveAttachment, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    """The bytes go first: a crash before the event leaves the file listed without content,
    and repeating the removal completes it."""
    trial = (await ports.customers.get(cmd.customer_id)).customer
    _check_if_match(ctx, trial)
    attachment = trial.attachment(cmd.attachment_id)
    CHANGES[c.RemoveAttachment](trial, cmd)
    await ports.blobs.delete(attachment.blob_key)
    return await change_customer(cmd, ctx, ports)


async def anonymise_customer(
    cmd: c.AnonymiseCustomer, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    return await _forget(
        cmd.customer_id, ctx, ports, lambda customer: customer.anonymise(by=ctx.actor)
    )


async def _shred_keys(customer: Customer, keyring: KeyRing) -> None:
    # Duplicates this customer absorbed still hold the same person's data in their own
    # streams, under their own keys: forgetting the customer forgets those too.
    for subject in (customer.id, *customer.absorbed_ids):
        await keyring.destroy(subject)


async def delete_customer(
    cmd: c.DeleteCustomer, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    return await _forget(cmd.customer_id, ctx, ports, lambda customer: customer.delete())


async def _forget(
    customer_id: UUID,
    ctx: CommandContext,
    ports: CustomerPorts,
    decide: Callable[[Customer], None],
) -> CommandResult:
    """Anonymise or delete: the rules are checked, then the key is destroyed, then the event.

    Destroying the key first means a crash or conflict afterwards can only leave the
    personal data already unreadable, never readable after the customer asked to be forgotten.
    """
    loaded = await ports.customers.get(customer_id)
    customer = loaded.customer
    _check_if_match(ctx, customer)
    held = _held_name(customer)
    attached = list(customer.attachments.values())
    decide(customer)
    await _delete_removed_bytes(attached, customer, ports.blobs)
    await _shred_keys(customer, ports.keyring)
    result = await ports.customers.save(customer, ctx)
    if held is not None:
        await ports.names.release(held, customer_id, ctx)
    for duplicate_id in sorted(customer.absorbed_ids):
        duplicate = (await ports.customers.get(duplicate_id)).customer
        duplicate.forget_with_survivor()
        await ports.customers.save(duplicate, ctx)
    if result is None:
        return CommandResult(customer.id, customer.version, loaded.position)
    return CommandResult(customer.id, result.version, result.position)


async def _delete_removed_bytes(
    attached: list[Attachment], customer: Customer, blobs: BlobStore
) -> None:
    """Before the key: a crash afterwards must not leave a forgotten customer's files."""
    for attachment in attached:
        if attachment.attachment_id not in customer.attachments:
            await blobs.delete(attachment.blob_key)


Handler = Callable[[c.CustomerCommand, CommandContext, CustomerPorts], Awaitable[CommandResult]]


def _handler(
    kind: type[Cmd], run: Callable[[Cmd, CommandContext, CustomerPorts], Awaitable[CommandResult]]
) -> tuple[type[c.CustomerCommand], Handler]:
    async def handle_one(
        cmd: c.CustomerCommand, ctx: CommandContext, ports: CustomerPorts
    ) -> CommandResult:
        assert isinstance(cmd, kind)
        return await run(cmd, ctx, ports)

    return kind, handle_one


HANDLERS: dict[type[c.CustomerCommand], Handler] = {
    **dict(
        [
            _handler(c.CreateCustomer, create_customer),
            _handler(c.MergeCustomers, merge_customers),
            _handler(c.AnonymiseCustomer, anonymise_customer),
            _handler(c.DeleteCustomer, delete_customer),
            _handler(c.AddAttachment, add_attachment),
        ]
    ),
    **dict.fromkeys(CHANGES, change_customer),
    # Relations change both customers: these two wrap the change of each (after CHANGES).
    **dict(
        [
            _handler(c.AddRelation, relate_customers),
            _handler(c.RemoveRelation, unrelate_customers),
            _handler(c.RemoveAttachment, remove_attachment),
        ]
    ),
}


async def handle(
    cmd: c.CustomerCommand, ctx: CommandContext, ports: CustomerPorts
) -> CommandResult:
    return await HANDLERS[type(cmd)](cmd, ctx, ports)


async def holds_name(customers: CustomerRepository, customer_id: UUID, key: str) -> bool:
    """Whether a reservation's holder still bears the name (else the reservation is stale)."""
    loaded = await customers.find(customer_id)
    return loaded is not None and _held_name(loaded.customer) == key


__all__ = ["CustomerNotFound", "CustomerPorts", "CustomerWasMerged", "handle", "holds_name"]
