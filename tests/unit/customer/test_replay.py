"""Replaying a customer's history rebuilds the same state, even with personal data erased."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from customer_command.domain.customer import Customer
from customer_command.domain.values import ContactPatch, CustomerPatch, LocationPatch, NewRelation
from customerhub_shared.events.base import EventMetadata
from customerhub_shared.events.customer import CustomerEvent
from customerhub_shared.events.registry import default_registry
from customerhub_shared.eventstore.port import RecordedEvent
from customerhub_shared.mapper import EventMapper
from tests.unit.customer.builders import a_customer, new_contact, new_customer, new_location


def a_customer_with_a_history() -> Customer:
    """A customer having gone through every kind of event, still unsaved in `pending`."""
    customer = Customer.create(
        uuid4(),
        new_customer(roles=["prospect"], note="Code 1234", custom_fields={"since": "2019"}),
        customer_number="C-1",
        main_location_id=uuid4(),
    )
    main, other = uuid4(), uuid4()
    customer.add_contact(main, new_contact())
    customer.add_contact(other, new_contact(name="Paul Martin", notify={}))
    customer.change_contact(other, ContactPatch(position="Comptable", main=True))
    customer.remove_contact(main)
    location = uuid4()
    customer.add_location(location, new_location(geo={"latitude": 45.7, "longitude": 4.8}))
    customer.change_location(location, LocationPatch(postal_code="69002"))
    customer.change_details(CustomerPatch(name="Boulangerie Martin & Fils", custom_fields={}))
    customer.convert_to_customer()
    customer.add_role("supplier")
    customer.add_label("late payer")
    customer.add_relation(NewRelation(other_customer_id=uuid4(), relation="child"))
    customer.assign_employee("tech-7")
    customer.link_document("INV-1", "invoice")
    customer.assign_equipment(uuid4())
    duplicate = a_customer(name="Martin doublon", labels=["old"])
    duplicate.add_contact(uuid4(), new_contact(name="Jeanne"))
    customer.absorb([duplicate])
    customer.archive("saison")
    customer.reactivate()
    return customer


def state_of(customer: Customer) -> dict[str, Any]:
    return {name: value for name, value in vars(customer).items() if name != "pending"}


def test_replaying_the_recorded_events_rebuilds_the_same_state() -> None:
    customer = a_customer_with_a_history()

    replayed = Customer.replay(customer.pending)

    assert state_of(replayed) == state_of(customer)
    assert replayed.version == len(customer.pending)
    assert replayed.pending == []


def test_replaying_an_empty_history_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        Customer.replay([])


def erased(events: list[CustomerEvent]) -> list[CustomerEvent]:
    """The history as read back once the customer's key is destroyed, through the real mapper."""
    mapper = EventMapper(default_registry())
    key = os.urandom(32)
    metadata = EventMetadata(actor="test", correlation_id="c", occurred_at=datetime.now(UTC))
    history: list[CustomerEvent] = []
    for revision, event in enumerate(events):
        stored = mapper.to_new_event(event, metadata, key=key)
        recorded = RecordedEvent(
            id=stored.id,
            stream=f"customer-{event.customer_id}",
            revision=revision,
            position=revision,
            type=stored.type,
            data=stored.data,
            metadata=stored.metadata,
            recorded_at=datetime.now(UTC),
        )
        envelope = mapper.to_envelope(recorded, key=None)
        assert isinstance(envelope.event, CustomerEvent)
        history.append(envelope.event)
    return history


def test_apply_never_fails_on_a_history_with_personal_data_erased() -> None:
    customer = a_customer_with_a_history()
    customer.anonymise()

    replayed = Customer.replay(erased(customer.pending))

    assert replayed.version == customer.version
    assert replayed.status == "anonymised"
    assert replayed.name is None
    assert all(contact.name is None for contact in replayed.contacts.values())
    assert replayed.roles == customer.roles
    assert replayed.labels == customer.labels
    assert replayed.equipment_ids == customer.equipment_ids
    assert replayed.documents == customer.documents
    assert replayed.main_location_id == customer.main_location_id
    assert replayed.main_location_id in replayed.locations


def test_erased_history_reads_like_the_anonymised_customer_where_it_matters() -> None:
    customer = Customer.create(
        uuid4(), new_customer(note="Code 1234"), customer_number=None, main_location_id=uuid4()
    )
    customer.add_contact(uuid4(), new_contact())
    customer.anonymise()
    before_anonymised = customer.pending[:-1]

    replayed = Customer.replay(erased(before_anonymised))

    assert replayed.status == "active"
    assert (replayed.name, replayed.email, replayed.phone, replayed.note) == (None,) * 4
    assert replayed.region == "FR-IDF"
    assert replayed.custom_fields == {}
    [contact] = replayed.contacts.values()
    assert (contact.name, contact.email, contact.phone) == (None, None, None)
    assert contact.notify == next(iter(customer.contacts.values())).notify
