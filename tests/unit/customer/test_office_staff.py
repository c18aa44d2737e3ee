"""The aggregate's side of issue 15: relations both ways, merged employees, portal access,
activities and where equipment stands."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from customer_command.domain import errors
from customer_command.domain.values import ContactPatch, NewActivity
from customerhub_shared.events.customer import (
    ActivityRecorded,
    ContactAdded,
    ContactChanged,
    DuplicatesMerged,
    EquipmentPlaced,
    RelationAdded,
)
from tests.unit.customer.builders import a_customer, new_contact, recorded, with_location

NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)


def test_the_other_side_of_a_parent_relation_is_a_child_one() -> None:
    shop, holding_id = a_customer(), uuid4()
    shop.relate_back(holding_id, "parent")
    [event] = shop.pending
    assert isinstance(event, RelationAdded) and event.relation == "child"
    shop.relate_back(holding_id, "parent")
    assert len(shop.pending) == 1, "recording the other side twice changes nothing"
    shop.unrelate_back(holding_id)
    shop.unrelate_back(holding_id)
    assert shop.relations == {}


def test_a_merge_carries_the_duplicates_employees_the_survivor_lacks() -> None:
    survivor, duplicate = a_customer(), a_customer(name="Boulangerie Martin bis")
    survivor.assign_employee("tech-1")
    duplicate.assign_employee("tech-1")
    duplicate.assign_employee("tech-2")
    survivor.pending.clear()
    survivor.absorb([duplicate])
    [event] = survivor.pending
    assert isinstance(event, DuplicatesMerged) and event.employee_ids == ("tech-2",)
    assert survivor.employees == {"tech-1", "tech-2"}


def test_portal_access_is_dated_when_granted_and_cleared_when_revoked() -> None:
    customer, contact_id = a_customer(), uuid4()
    customer.add_contact(contact_id, new_contact(portal_access=True), at=NOW)
    added = customer.pending[0]
    assert isinstance(added, ContactAdded) and added.portal_invited_at == NOW
    customer.change_contact(contact_id, ContactPatch(portal_access=False), at=NOW)
    changed = customer.pending[-1]
    assert isinstance(changed, ContactChanged)
    assert changed.changed == ("portal_access", "portal_invited_at")
    assert customer.contacts[contact_id].portal_invited_at is None


def test_an_activity_defaults_to_the_time_it_is_recorded() -> None:
    customer = a_customer()
    customer.record_activity(
        uuid4(), NewActivity(kind="visit", text="Oven serviced"), occurred_at=NOW, author="bob"
    )
    [event] = customer.pending
    assert isinstance(event, ActivityRecorded)
    assert (event.occurred_at, event.author, event.kind) == (NOW, "bob", "visit")


def test_an_anonymised_customer_takes_no_activity() -> None:
    customer = a_customer()
    customer.anonymise()
    with pytest.raises(errors.CustomerWasAnonymised):
        customer.record_activity(
            uuid4(), NewActivity(kind="call", text="x"), occurred_at=NOW, author="bob"
        )


def test_equipment_is_placed_only_where_the_customer_lists_it_and_has_the_location() -> None:
    customer, oven = a_customer(), uuid4()
    workshop = with_location(customer)
    customer.place_equipment(oven, workshop)
    assert customer.pending == [], "an item it does not list"
    customer.assign_equipment(oven)
    customer.place_equipment(oven, workshop)
    customer.place_equipment(oven, workshop)
    customer.place_equipment(oven, uuid4())
    assert recorded(customer)[1:] == [EquipmentPlaced, EquipmentPlaced]
    assert customer.pending[-1].location_id is None  # type: ignore[attr-defined]
    customer.place_equipment(oven, workshop)
    customer.remove_location(workshop)
    assert customer.equipment_locations == {}
