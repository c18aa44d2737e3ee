from __future__ import annotations

from uuid import uuid4

import pytest

from customer_command.domain import errors
from customer_command.domain.customer import Customer
from customer_command.domain.values import NewRelation
from customerhub_shared.events.customer import CustomerMergedInto, DuplicatesMerged
from tests.unit.customer.builders import a_customer, recorded, with_contact, with_location


def a_duplicate(**overrides: object) -> Customer:
    return a_customer(name="Boulangerie Martin ERRONÉ", **overrides)


def merged_event(survivor: Customer) -> DuplicatesMerged:
    [event] = survivor.pending
    assert isinstance(event, DuplicatesMerged)
    return event


def test_survivor_takes_over_contacts_locations_labels_equipment_and_documents() -> None:
    survivor = a_customer(labels=["vip"])
    duplicate = a_duplicate(labels=["vip", "late payer"])
    contact_id = with_contact(duplicate, name="Paul Martin")
    extra_location = with_location(duplicate)
    equipment_id = uuid4()
    duplicate.assign_equipment(equipment_id)
    duplicate.link_document("INV-7", "invoice")

    survivor.absorb([duplicate])

    event = merged_event(survivor)
    assert event.duplicate_ids == (duplicate.id,)
    assert event.labels == ("late payer",)
    assert survivor.labels == {"vip", "late payer"}
    assert survivor.contacts[contact_id].name == "Paul Martin"
    assert duplicate.main_location_id in survivor.locations
    assert survivor.locations[extra_location].city == "Lyon"
    assert survivor.equipment_ids == {equipment_id}
    assert survivor.documents == {"INV-7": "invoice"}


def test_a_duplicates_main_contact_and_location_do_not_become_main() -> None:
    survivor = a_customer()
    survivor_contact = with_contact(survivor)
    main_location = survivor.main_location_id
    duplicate = a_duplicate()
    duplicate_contact = with_contact(duplicate, name="Paul Martin")

    survivor.absorb([duplicate])

    assert duplicate_contact in survivor.contacts
    assert survivor.main_contact_id == survivor_contact
    assert survivor.main_location_id == main_location


def test_relations_within_the_merged_set_are_dropped() -> None:
    survivor = a_customer()
    first, second = a_duplicate(), a_duplicate()
    supplier, shop = uuid4(), uuid4()
    first.add_relation(NewRelation(other_customer_id=survivor.id, relation="parent"))
    first.add_relation(NewRelation(other_customer_id=second.id))
    first.add_relation(NewRelation(other_customer_id=shop, relation="child"))
    second.add_relation(NewRelation(other_customer_id=supplier))

    survivor.absorb([first, second])

    assert merged_event(survivor).relations == ((shop, "child"), (supplier, "related"))
    assert survivor.relations == {shop: "child", supplier: "related"}


def test_the_survivors_own_relation_kind_is_kept() -> None:
    survivor = a_customer()
    shop = uuid4()
    survivor.add_relation(NewRelation(other_customer_id=shop, relation="child"))
    survivor.pending.clear()
    duplicate = a_duplicate()
    duplicate.add_relation(NewRelation(other_customer_id=shop, relation="related"))

    survivor.absorb([duplicate])

    assert merged_event(survivor).relations == ()
    assert survivor.relations == {shop: "child"}


def test_a_customer_cannot_absorb_itself() -> None:
    survivor = a_customer()
    with pytest.raises(errors.CannotMergeIntoItself):
        survivor.absorb([survivor])
    assert survivor.pending == []


@pytest.mark.parametrize("fate", ["delete", "anonymise"])
def test_a_deleted_or_anonymised_duplicate_cannot_be_merged(fate: str) -> None:
    survivor, duplicate = a_customer(), a_duplicate()
    getattr(duplicate, fate)()
    with pytest.raises(errors.DuplicateNotMergeable):
        survivor.absorb([duplicate])
    assert survivor.pending == []


def test_a_duplicate_merged_into_another_customer_cannot_be_merged_again() -> None:
    survivor, duplicate = a_customer(), a_duplicate()
    duplicate.merge_into(uuid4())
    with pytest.raises(errors.DuplicateNotMergeable, match="another customer"):
        survivor.absorb([duplicate])


def test_an_interrupted_merge_is_completed_by_repeating_it() -> None:
    survivor, duplicate = a_customer(), a_duplicate()
    equipment_id = uuid4()
    duplicate.assign_equipment(equipment_id)
    duplicate.merge_into(survivor.id)

    survivor.absorb([duplicate])
    survivor.absorb([duplicate])

    assert recorded(survivor) == [DuplicatesMerged]
    assert survivor.equipment_ids == {equipment_id}


def test_the_same_duplicate_named_twice_is_absorbed_once() -> None:
    survivor, duplicate = a_customer(), a_duplicate()
    survivor.absorb([duplicate, duplicate])
    assert merged_event(survivor).duplicate_ids == (duplicate.id,)


def test_an_archived_survivor_cannot_absorb_duplicates() -> None:
    survivor = a_customer()
    survivor.archive(None)
    with pytest.raises(errors.CustomerIsArchived):
        survivor.absorb([a_duplicate()])


def test_an_archived_duplicate_can_be_merged() -> None:
    survivor, duplicate = a_customer(), a_duplicate()
    duplicate.archive("doublon")
    survivor.absorb([duplicate])
    assert merged_event(survivor).duplicate_ids == (duplicate.id,)


def test_merged_duplicate_becomes_a_redirect_to_the_survivor() -> None:
    duplicate = a_duplicate()
    survivor_id = uuid4()

    duplicate.merge_into(survivor_id)

    assert recorded(duplicate) == [CustomerMergedInto]
    assert (duplicate.status, duplicate.merged_into) == ("merged", survivor_id)
    assert not duplicate.holds_name


def test_a_customer_cannot_be_merged_into_itself() -> None:
    duplicate = a_duplicate()
    with pytest.raises(errors.CannotMergeIntoItself):
        duplicate.merge_into(duplicate.id)
