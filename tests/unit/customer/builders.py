"""Ready-made customers and inputs for the aggregate's tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from customer_command.domain.customer import Customer
from customer_command.domain.values import NewContact, NewCustomer, NewLocation
from customerhub_shared.events.customer import CustomerEvent


def new_customer(**overrides: Any) -> NewCustomer:
    fields: dict[str, Any] = {
        "kind": "company",
        "name": "Boulangerie Martin",
        "internal_name": "Martin Nord",
        "region": "FR-IDF",
        "language": "fr",
        "labels": ["vip"],
        "email": "contact@martin.example",
        "phone": "+33 1 40 00 00 00",
        "main_location": {
            "street": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
    }
    return NewCustomer.model_validate(fields | overrides)


def a_customer(**overrides: Any) -> Customer:
    """A customer whose creation is already saved: `pending` holds only what a test records."""
    customer = Customer.create(
        uuid4(), new_customer(**overrides), customer_number="C-1001", main_location_id=uuid4()
    )
    customer.pending.clear()
    return customer


def new_contact(**overrides: Any) -> NewContact:
    fields: dict[str, Any] = {
        "name": "Claire Martin",
        "email": "claire@martin.example",
        "phone": "+33 6 12 34 56 78",
        "notify": {"email": True, "sms": False},
    }
    return NewContact.model_validate(fields | overrides)


def new_location(**overrides: Any) -> NewLocation:
    fields: dict[str, Any] = {"label": "Atelier", "street": "3 rue du Four", "city": "Lyon"}
    return NewLocation.model_validate(fields | overrides)


def with_contact(customer: Customer, **overrides: Any) -> UUID:
    contact_id = uuid4()
    customer.add_contact(contact_id, new_contact(**overrides))
    customer.pending.clear()
    return contact_id


def with_location(customer: Customer, **overrides: Any) -> UUID:
    location_id = uuid4()
    customer.add_location(location_id, new_location(**overrides))
    customer.pending.clear()
    return location_id


def recorded(customer: Customer) -> list[type[CustomerEvent]]:
    return [type(event) for event in customer.pending]
