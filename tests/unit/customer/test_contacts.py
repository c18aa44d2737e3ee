from __future__ import annotations

from uuid import uuid4

import pytest

from customer_command.domain import errors
from customer_command.domain.values import ContactPatch
from customerhub_shared.events.customer import (
    ContactAdded,
    ContactChanged,
    ContactRemoved,
    MainContactChosen,
    NotifyChannels,
)
from tests.unit.customer.builders import a_customer, new_contact, recorded, with_contact


def test_the_first_contact_becomes_the_main_contact() -> None:
    customer = a_customer()
    contact_id = uuid4()

    customer.add_contact(contact_id, new_contact())

    assert recorded(customer) == [ContactAdded, MainContactChosen]
    assert customer.main_contact_id == contact_id
    contact = customer.contacts[contact_id]
    assert (contact.name, contact.email, contact.phone) == (
        "Claire Martin",
        "claire@martin.example",
        "+33612345678",
    )
    assert contact.notify == NotifyChannels(email=True, sms=False)


def test_a_further_contact_is_not_main_unless_asked() -> None:
    customer = a_customer()
    first = with_contact(customer)

    customer.add_contact(uuid4(), new_contact(name="Paul Martin"))

    assert recorded(customer) == [ContactAdded]
    assert customer.main_contact_id == first


def test_a_contact_added_as_main_takes_over_as_main_contact() -> None:
    customer = a_customer()
    with_contact(customer)
    second = uuid4()

    customer.add_contact(second, new_contact(name="Paul Martin", main=True))

    assert recorded(customer) == [ContactAdded, MainContactChosen]
    assert customer.main_contact_id == second


def test_the_same_contact_cannot_be_added_twice() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)
    with pytest.raises(errors.ContactAlreadyExists):
        customer.add_contact(contact_id, new_contact())


def test_main_contact_cannot_be_removed_while_main() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)

    with pytest.raises(errors.MainContactCannotBeRemoved) as refused:
        customer.remove_contact(contact_id)

    assert refused.value.code == "main-contact-cannot-be-removed"
    assert contact_id in customer.contacts
    assert customer.pending == []


def test_unchecking_main_then_removing_the_contact_works() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)

    customer.change_contact(contact_id, ContactPatch(main=False))
    customer.remove_contact(contact_id)

    assert recorded(customer) == [MainContactChosen, ContactRemoved]
    assert customer.main_contact_id is None
    assert customer.contacts == {}


def test_a_contact_that_is_not_main_can_be_removed() -> None:
    customer = a_customer()
    with_contact(customer)
    other = with_contact(customer, name="Paul Martin")
    customer.remove_contact(other)
    assert other not in customer.contacts


def test_removing_an_unknown_contact_is_refused() -> None:
    with pytest.raises(errors.ContactNotFound):
        a_customer().remove_contact(uuid4())


def test_changing_an_unknown_contact_is_refused() -> None:
    with pytest.raises(errors.ContactNotFound):
        a_customer().change_contact(uuid4(), ContactPatch(name="Paul"))


def test_change_contact_records_only_what_changes() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)

    customer.change_contact(
        contact_id, ContactPatch(name="Claire Martin", position="Gérante", equipment_alerts=True)
    )

    [changed] = customer.pending
    assert isinstance(changed, ContactChanged)
    assert changed.changed == ("position", "equipment_alerts")
    contact = customer.contacts[contact_id]
    assert (contact.position, contact.equipment_alerts) == ("Gérante", True)


def test_change_contact_that_changes_nothing_records_nothing() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)
    customer.change_contact(contact_id, ContactPatch(name="Claire Martin", main=True))
    assert customer.pending == []


def test_clearing_the_email_of_a_contact_opted_into_email_is_refused() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)

    with pytest.raises(errors.OptInWithoutAddress, match="needs an email address"):
        customer.change_contact(contact_id, ContactPatch.model_validate({"email": None}))

    assert customer.contacts[contact_id].email == "claire@martin.example"


def test_opting_into_sms_without_a_phone_is_refused() -> None:
    customer = a_customer()
    contact_id = with_contact(customer, phone=None)
    with pytest.raises(errors.OptInWithoutAddress, match="needs a phone number"):
        customer.change_contact(contact_id, ContactPatch(notify=NotifyChannels(sms=True)))


def test_clearing_the_email_together_with_opting_out_is_accepted() -> None:
    customer = a_customer()
    contact_id = with_contact(customer)
    customer.change_contact(
        contact_id, ContactPatch.model_validate({"email": None, "notify": {"email": False}})
    )
    assert customer.contacts[contact_id].email is None


def test_checking_main_on_another_contact_makes_it_main() -> None:
    customer = a_customer()
    with_contact(customer)
    other = with_contact(customer, name="Paul Martin")

    customer.change_contact(other, ContactPatch(main=True))

    [chosen] = customer.pending
    assert isinstance(chosen, MainContactChosen)
    assert chosen.contact_id == other
    assert customer.main_contact_id == other


def test_unchecking_main_on_a_contact_that_is_not_main_records_nothing() -> None:
    customer = a_customer()
    main = with_contact(customer)
    other = with_contact(customer, name="Paul Martin")
    customer.change_contact(other, ContactPatch(main=False))
    assert customer.pending == []
    assert customer.main_contact_id == main
