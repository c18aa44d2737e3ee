"""Relations to other customers, assigned employees, linked documents, equipment."""

from __future__ import annotations

from uuid import uuid4

import pytest

from customer_command.domain import errors
from customer_command.domain.values import NewRelation
from customerhub_shared.events.customer import (
    DocumentLinked,
    DocumentUnlinked,
    EmployeeAssigned,
    EmployeeUnassigned,
    EquipmentAssigned,
    EquipmentUnassigned,
    RelationAdded,
    RelationRemoved,
)
from tests.unit.customer.builders import a_customer, recorded


def test_a_customer_cannot_be_related_to_itself() -> None:
    customer = a_customer()
    with pytest.raises(errors.RelationToSelf):
        customer.add_relation(NewRelation(other_customer_id=customer.id))


def test_relating_again_with_another_kind_records_the_new_kind() -> None:
    customer = a_customer()
    shop = uuid4()

    customer.add_relation(NewRelation(other_customer_id=shop, relation="child"))
    customer.add_relation(NewRelation(other_customer_id=shop, relation="child"))
    customer.add_relation(NewRelation(other_customer_id=shop, relation="related"))

    assert recorded(customer) == [RelationAdded, RelationAdded]
    assert customer.relations == {shop: "related"}


def test_a_relation_is_removed() -> None:
    customer = a_customer()
    shop = uuid4()
    customer.add_relation(NewRelation(other_customer_id=shop))
    customer.remove_relation(shop)
    assert recorded(customer) == [RelationAdded, RelationRemoved]
    assert customer.relations == {}


def test_removing_an_unknown_relation_is_refused() -> None:
    with pytest.raises(errors.RelationNotFound):
        a_customer().remove_relation(uuid4())


def test_employees_are_assigned_and_unassigned_once() -> None:
    customer = a_customer()

    customer.assign_employee("tech-7")
    customer.assign_employee("tech-7")
    customer.unassign_employee("tech-7")
    customer.unassign_employee("tech-7")

    assert recorded(customer) == [EmployeeAssigned, EmployeeUnassigned]
    assert customer.employees == set()


def test_documents_are_linked_and_unlinked() -> None:
    customer = a_customer()

    customer.link_document("INV-1", "invoice")
    customer.link_document("INV-1", "invoice")
    customer.link_document("Q-9", "quote")
    customer.unlink_document("Q-9")
    customer.unlink_document("Q-9")

    assert recorded(customer) == [DocumentLinked, DocumentLinked, DocumentUnlinked]
    assert customer.documents == {"INV-1": "invoice"}


def test_equipment_is_assigned_once() -> None:
    customer = a_customer()
    equipment_id = uuid4()
    customer.assign_equipment(equipment_id)
    customer.assign_equipment(equipment_id)
    assert recorded(customer) == [EquipmentAssigned]
    assert customer.equipment_ids == {equipment_id}


def test_equipment_cannot_be_assigned_to_an_archived_customer() -> None:
    customer = a_customer()
    customer.archive("closed down")
    with pytest.raises(errors.CustomerIsArchived):
        customer.assign_equipment(uuid4())
    assert customer.equipment_ids == set()


def test_equipment_is_unassigned_even_from_an_archived_customer() -> None:
    customer = a_customer()
    equipment_id = uuid4()
    customer.assign_equipment(equipment_id)
    customer.archive(None)
    customer.unassign_equipment(equipment_id)
    assert recorded(customer)[-1] is EquipmentUnassigned
    assert customer.equipment_ids == set()


def test_equipment_not_owned_cannot_be_unassigned() -> None:
    customer = a_customer()
    with pytest.raises(errors.EquipmentNotOwned):
        customer.unassign_equipment(uuid4())
