from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from customer_command.domain.customer import Customer
from customerhub_shared.events.customer import CustomerCreated
from tests.unit.customer.builders import new_customer


def test_creating_records_one_customer_created_event_with_the_details() -> None:
    customer_id, location_id = uuid4(), uuid4()
    details = new_customer(discount_percent="7.5", custom_fields={"since": "2019"})

    customer = Customer.create(
        customer_id, details, customer_number="C-1001", main_location_id=location_id
    )

    [created] = customer.pending
    assert isinstance(created, CustomerCreated)
    assert created.customer_id == customer_id
    assert (customer.id, customer.version, customer.status) == (customer_id, 1, "active")
    assert customer.name == "Boulangerie Martin"
    assert customer.internal_name == "Martin Nord"
    assert (customer.region, customer.language, customer.segment) == ("FR-IDF", "fr", "other")
    assert customer.roles == {"customer"}
    assert customer.labels == {"vip"}
    assert (customer.email, customer.phone) == ("contact@martin.example", "+33140000000")
    assert customer.discount_percent == Decimal("7.5")
    assert customer.custom_fields == {"since": "2019"}


def test_allocated_customer_number_is_used_when_none_is_given() -> None:
    customer = Customer.create(
        uuid4(), new_customer(), customer_number="C-1001", main_location_id=uuid4()
    )
    assert customer.customer_number == "C-1001"


def test_client_supplied_customer_number_wins_over_the_allocated_one() -> None:
    customer = Customer.create(
        uuid4(),
        new_customer(customer_number="ERP-42"),
        customer_number="C-1001",
        main_location_id=uuid4(),
    )
    assert customer.customer_number == "ERP-42"


def test_a_new_customer_has_exactly_one_main_location() -> None:
    location_id = uuid4()
    customer = Customer.create(
        uuid4(), new_customer(), customer_number=None, main_location_id=location_id
    )
    assert customer.main_location_id == location_id
    assert list(customer.locations) == [location_id]
    main = customer.locations[location_id]
    assert (main.street, main.postal_code, main.city, main.country) == (
        "12 rue de la Paix",
        "75002",
        "Paris",
        "FR",
    )


def test_a_new_customer_has_no_contact_yet() -> None:
    customer = Customer.create(
        uuid4(), new_customer(), customer_number=None, main_location_id=uuid4()
    )
    assert customer.contacts == {}
    assert customer.main_contact_id is None


def test_an_active_customer_holds_its_normalised_name() -> None:
    customer = Customer.create(
        uuid4(),
        new_customer(name="Boulangerie  MARTIN"),
        customer_number=None,
        main_location_id=uuid4(),
    )
    assert customer.holds_name
    assert customer.name_key == "boulangerie martin"


def test_a_customer_may_start_as_a_prospect() -> None:
    customer = Customer.create(
        uuid4(), new_customer(roles=["prospect"]), customer_number=None, main_location_id=uuid4()
    )
    assert customer.roles == {"prospect"}
