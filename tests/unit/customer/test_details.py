from __future__ import annotations

import pytest

from customer_command.domain import errors
from customer_command.domain.values import CustomerPatch
from customerhub_shared.events.customer import (
    CustomerDetailsChanged,
    CustomerLabelAdded,
    CustomerLabelRemoved,
    CustomerRoleAdded,
    ProspectConvertedToCustomer,
)
from tests.unit.customer.builders import a_customer, recorded


def test_change_details_records_only_the_fields_that_change() -> None:
    customer = a_customer()
    patch = CustomerPatch(name="Boulangerie Martin", language="de", segment="dealer")

    customer.change_details(patch)

    [changed] = customer.pending
    assert isinstance(changed, CustomerDetailsChanged)
    assert changed.changed == ("language", "segment")
    assert (customer.language, customer.segment) == ("de", "dealer")
    assert customer.version == 2


def test_change_details_that_changes_nothing_records_nothing() -> None:
    customer = a_customer()
    customer.change_details(CustomerPatch(name="Boulangerie Martin", phone="+33140000000"))
    assert customer.pending == []
    assert customer.version == 1


def test_change_details_can_clear_an_optional_field() -> None:
    customer = a_customer(note="Sonner deux fois")
    customer.change_details(CustomerPatch.model_validate({"note": None, "email": None}))
    [changed] = customer.pending
    assert isinstance(changed, CustomerDetailsChanged)
    assert set(changed.changed) == {"note", "email"}
    assert (customer.note, customer.email) == (None, None)


def test_renaming_changes_the_name_key() -> None:
    customer = a_customer()
    customer.change_details(CustomerPatch(name="Pâtisserie Martin"))
    assert customer.name_key == "patisserie martin"


def test_custom_fields_are_replaced_as_a_whole() -> None:
    customer = a_customer(custom_fields={"since": "2019"})
    customer.change_details(CustomerPatch(custom_fields={"visits": 3}))
    assert customer.custom_fields == {"visits": 3}


def test_a_person_converts_to_a_company() -> None:
    customer = a_customer(kind="person")
    customer.convert_to_company()
    assert customer.kind == "company"
    assert len(customer.pending) == 1


def test_a_company_cannot_be_converted_to_a_company() -> None:
    with pytest.raises(errors.AlreadyACompany):
        a_customer(kind="company").convert_to_company()


def test_prospect_converts_to_customer_once_and_never_back() -> None:
    customer = a_customer(roles=["prospect"])

    customer.convert_to_customer()

    assert recorded(customer) == [ProspectConvertedToCustomer]
    assert customer.roles == {"customer"}
    with pytest.raises(errors.NotAProspect):
        customer.convert_to_customer()
    with pytest.raises(errors.ProspectRoleNotAllowed):
        customer.add_role("prospect")
    assert customer.roles == {"customer"}


def test_a_customer_that_never_was_a_prospect_cannot_be_converted() -> None:
    with pytest.raises(errors.NotAProspect):
        a_customer().convert_to_customer()


def test_giving_a_prospect_the_customer_role_converts_it() -> None:
    customer = a_customer(roles=["prospect"])
    customer.add_role("customer")
    assert recorded(customer) == [ProspectConvertedToCustomer]
    assert customer.roles == {"customer"}


def test_a_customer_may_also_be_a_supplier() -> None:
    customer = a_customer()
    customer.add_role("supplier")
    assert recorded(customer) == [CustomerRoleAdded]
    assert customer.roles == {"customer", "supplier"}


def test_adding_a_role_already_held_records_nothing() -> None:
    customer = a_customer(roles=["customer", "supplier"])
    customer.add_role("supplier")
    assert customer.pending == []


def test_a_supplier_may_become_a_prospect() -> None:
    customer = a_customer(roles=["supplier"])
    customer.add_role("prospect")
    assert customer.roles == {"supplier", "prospect"}


def test_labels_are_added_and_removed_once() -> None:
    customer = a_customer(labels=[])

    customer.add_label(" late payer ")
    customer.add_label("late payer")
    customer.remove_label("late payer")
    customer.remove_label("late payer")

    assert recorded(customer) == [CustomerLabelAdded, CustomerLabelRemoved]
    assert customer.labels == set()


@pytest.mark.parametrize("label", ["", "   ", "x" * 51])
def test_blank_or_overlong_label_is_refused(label: str) -> None:
    customer = a_customer()
    with pytest.raises(errors.InvalidLabel):
        customer.add_label(label)
    assert customer.pending == []
