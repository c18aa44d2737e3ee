"""Archive, reactivate, delete, anonymise; what merged, deleted or anonymised customers refuse."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from customer_command.domain import errors
from customer_command.domain.customer import Customer
from customer_command.domain.values import (
    ContactPatch,
    CustomerPatch,
    LocationPatch,
    NewRelation,
)
from customerhub_shared.events.customer import (
    CustomerAnonymised,
    CustomerArchived,
    CustomerDeleted,
    CustomerReactivated,
)
from tests.unit.customer.builders import (
    a_customer,
    new_contact,
    new_location,
    recorded,
    with_contact,
)

Command = Callable[[Customer], None]

CHANGES: dict[str, Command] = {
    "change_details": lambda c: c.change_details(CustomerPatch(name="Autre")),
    "convert_to_company": lambda c: c.convert_to_company(),
    "convert_to_customer": lambda c: c.convert_to_customer(),
    "add_role": lambda c: c.add_role("supplier"),
    "add_label": lambda c: c.add_label("new"),
    "remove_label": lambda c: c.remove_label("vip"),
    "add_contact": lambda c: c.add_contact(uuid4(), new_contact()),
    "change_contact": lambda c: c.change_contact(uuid4(), ContactPatch(name="x")),
    "remove_contact": lambda c: c.remove_contact(uuid4()),
    "add_location": lambda c: c.add_location(uuid4(), new_location()),
    "change_location": lambda c: c.change_location(uuid4(), LocationPatch(city="x")),
    "make_main_location": lambda c: c.make_main_location(uuid4()),
    "remove_location": lambda c: c.remove_location(uuid4()),
    "add_relation": lambda c: c.add_relation(NewRelation(other_customer_id=uuid4())),
    "remove_relation": lambda c: c.remove_relation(uuid4()),
    "assign_employee": lambda c: c.assign_employee("tech-7"),
    "unassign_employee": lambda c: c.unassign_employee("tech-7"),
    "link_document": lambda c: c.link_document("INV-1", "invoice"),
    "assign_equipment": lambda c: c.assign_equipment(uuid4()),
    "archive": lambda c: c.archive(None),
    "reactivate": lambda c: c.reactivate(),
    "absorb": lambda c: c.absorb([a_customer(name="Doublon")]),
    "merge_into": lambda c: c.merge_into(uuid4()),
}
# Letting go of links stays possible once anonymised (documents expire, equipment moves on).
RELEASES: dict[str, Command] = {
    "unlink_document": lambda c: c.unlink_document("INV-1"),
    "unassign_equipment": lambda c: c.unassign_equipment(uuid4()),
}
EVERY_COMMAND: dict[str, Command] = {
    **CHANGES,
    **RELEASES,
    "delete": lambda c: c.delete(),
    "anonymise": lambda c: c.anonymise(),
}


def test_archiving_twice_records_once_and_releases_the_name() -> None:
    customer = a_customer()
    customer.archive("closed down")
    customer.archive("again")
    assert recorded(customer) == [CustomerArchived]
    assert customer.status == "archived"
    assert not customer.holds_name


def test_reactivating_an_archived_customer_holds_the_name_again() -> None:
    customer = a_customer()
    customer.archive(None)
    customer.reactivate()
    customer.reactivate()
    assert recorded(customer) == [CustomerArchived, CustomerReactivated]
    assert customer.status == "active"
    assert customer.holds_name


def test_an_archived_customer_can_still_be_edited() -> None:
    customer = a_customer()
    customer.archive(None)
    customer.change_details(CustomerPatch(note="Fermé en août"))
    assert customer.note == "Fermé en août"


def test_delete_is_refused_while_equipment_is_assigned() -> None:
    customer = a_customer()
    customer.assign_equipment(uuid4())
    with pytest.raises(errors.CustomerHasEquipment) as refused:
        customer.delete()
    assert isinstance(refused.value, errors.CommandRefused)
    assert customer.status == "active"


def test_delete_is_refused_while_documents_are_linked() -> None:
    customer = a_customer()
    customer.link_document("INV-1", "invoice")
    with pytest.raises(errors.CustomerHasDocuments):
        customer.delete()
    assert customer.status == "active"


def test_a_customer_without_equipment_or_documents_is_deleted() -> None:
    customer = a_customer()
    customer.delete()
    assert recorded(customer) == [CustomerDeleted]
    assert customer.status == "deleted"
    assert not customer.holds_name


@pytest.mark.parametrize("command", list(EVERY_COMMAND))
def test_deleted_customer_is_gone_for_every_command(command: str) -> None:
    customer = a_customer(roles=["prospect"])
    customer.delete()
    with pytest.raises(errors.CustomerWasDeleted) as gone:
        EVERY_COMMAND[command](customer)
    assert isinstance(gone.value, errors.CustomerGone)
    assert customer.version == 2


@pytest.mark.parametrize("command", list(EVERY_COMMAND))
def test_merged_customer_refuses_further_commands(command: str) -> None:
    customer = a_customer(roles=["prospect"])
    survivor_id = uuid4()
    customer.merge_into(survivor_id)
    customer.pending.clear()

    with pytest.raises(errors.CustomerWasMerged) as refused:
        EVERY_COMMAND[command](customer)

    assert refused.value.survivor_id == survivor_id
    assert customer.pending == []


@pytest.mark.parametrize("command", list(CHANGES))
def test_anonymised_customer_refuses_further_changes(command: str) -> None:
    customer = a_customer(roles=["prospect"])
    customer.anonymise()
    customer.pending.clear()
    with pytest.raises(errors.CustomerWasAnonymised):
        CHANGES[command](customer)
    assert customer.pending == []


def test_anonymising_erases_personal_data_but_keeps_the_structure() -> None:
    customer = a_customer(note="Code porte 1234", custom_fields={"birthday": "1970-01-01"})
    contact_id = with_contact(customer, position="Gérante")
    location_id = customer.main_location_id
    assert location_id is not None

    customer.anonymise()

    assert recorded(customer) == [CustomerAnonymised]
    assert customer.status == "anonymised"
    assert (customer.name, customer.internal_name, customer.email, customer.phone) == (
        None,
        None,
        None,
        None,
    )
    assert (customer.note, customer.custom_fields) == (None, {})
    contact = customer.contacts[contact_id]
    assert (contact.name, contact.email, contact.phone, contact.position) == (None,) * 4
    location = customer.locations[location_id]
    assert (location.street, location.postal_code, location.city) == (None, None, None)
    assert location.country == "FR"
    assert customer.main_contact_id == contact_id
    assert not customer.holds_name
    assert customer.name_key is None


def test_anonymising_twice_records_once() -> None:
    customer = a_customer()
    customer.anonymise()
    customer.anonymise()
    assert recorded(customer) == [CustomerAnonymised]


def test_anonymised_customer_with_kept_documents_can_be_deleted_once_they_expire() -> None:
    customer = a_customer()
    equipment_id = uuid4()
    customer.link_document("INV-1", "invoice")
    customer.assign_equipment(equipment_id)
    customer.anonymise()
    customer.unassign_equipment(equipment_id)
    with pytest.raises(errors.CustomerHasDocuments):
        customer.delete()

    customer.unlink_document("INV-1")
    customer.delete()

    assert customer.status == "deleted"
