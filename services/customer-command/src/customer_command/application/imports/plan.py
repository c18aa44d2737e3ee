"""What a row asks of a customer that already exists: the commands that would change it,
decided by the customer itself (a command that records nothing is left out)."""

from __future__ import annotations

import uuid
from uuid import UUID

from customer_command.application import commands as c
from customer_command.application.handlers import CHANGES
from customer_command.application.imports.rows import CustomerRow
from customer_command.domain.customer import Customer


def contact_id_for(customer_id: UUID, name: str) -> UUID:
    return uuid.uuid5(customer_id, f"import-contact\x1f{name.casefold()}")


def update_commands(customer: Customer, row: CustomerRow) -> list[c.CustomerCommand]:
    """The commands that change `customer` as the row says; domain refusals propagate.

    `customer` is decided on in memory: it is left with the events it would record.
    """
    wanted: list[c.CustomerCommand] = []
    patch = row.customer_patch()
    if patch is not None:
        wanted.append(c.ChangeCustomerDetails(customer.id, patch))
    address = row.address_patch()
    if address is not None and customer.main_location_id is not None:
        wanted.append(c.ChangeLocation(customer.id, customer.main_location_id, address))
    wanted += [c.AddLabel(customer.id, label) for label in row.customer.labels]
    wanted += _contact_commands(customer, row)
    return [command for command in wanted if _changes(customer, command)]


def _contact_commands(customer: Customer, row: CustomerRow) -> list[c.CustomerCommand]:
    if row.contact is None:
        return []
    name = row.contact.full_name().casefold()
    for contact_id, contact in customer.contacts.items():
        if (contact.name or "").casefold() == name:
            patch = row.contact_patch()
            return [] if patch is None else [c.ChangeContact(customer.id, contact_id, patch)]
    new_id = contact_id_for(customer.id, row.contact.full_name())
    return [c.AddContact(customer.id, new_id, row.contact)]


def _changes(customer: Customer, command: c.CustomerCommand) -> bool:
    before = len(customer.pending)
    CHANGES[type(command)](customer, command)
    return len(customer.pending) > before
