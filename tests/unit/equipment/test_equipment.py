"""The Equipment aggregate: registration, details, and one owner at a time."""

from __future__ import annotations

from uuid import uuid4

import pytest
from pydantic import ValidationError

from customerhub_shared.events.equipment import (
    EquipmentDetailsChanged,
    EquipmentOwnerChanged,
    EquipmentRegistered,
)
from equipment.domain import errors
from equipment.domain.equipment import Equipment
from equipment.domain.values import EquipmentPatch, NewEquipment


def an_item(**fields: str) -> Equipment:
    item = Equipment.register(uuid4(), NewEquipment.model_validate({"name": "Chaudière", **fields}))
    item.pending.clear()
    return item


def test_registering_records_the_nameplate() -> None:
    details = NewEquipment.model_validate(
        {
            "name": " Chaudière ",
            "brand": "Viessmann",
            "serial_number": "SN-1",
            "image_url": "https://img.example/plate.jpg",
        }
    )
    item = Equipment.register(uuid4(), details)
    [registered] = item.pending
    assert isinstance(registered, EquipmentRegistered)
    assert (registered.name, registered.brand) == ("Chaudière", "Viessmann")
    assert registered.image_url == "https://img.example/plate.jpg"
    assert item.version == 1 and item.owner is None


def test_bad_details_are_refused_before_any_event() -> None:
    for bad in ({"name": ""}, {"name": "x", "image_url": "not a url"}, {"name": "x", "size": 3}):
        with pytest.raises(ValidationError):
            NewEquipment.model_validate(bad)
    for bad_patch in ({}, {"name": None}):
        with pytest.raises(ValidationError):
            EquipmentPatch.model_validate(bad_patch)


def test_changing_details_records_only_what_differs_and_clears_with_null() -> None:
    item = an_item(brand="Viessmann", model="Vitodens")
    item.change_details(EquipmentPatch.model_validate({"brand": "Viessmann", "model": None}))
    [changed] = item.pending
    assert isinstance(changed, EquipmentDetailsChanged)
    assert changed.changed == ("model",)
    assert item.details["model"] is None and item.details["brand"] == "Viessmann"
    item.change_details(EquipmentPatch.model_validate({"brand": "Viessmann"}))
    assert len(item.pending) == 1


def test_an_unowned_item_is_assigned_and_its_owner_is_a_no_op() -> None:
    item, customer = an_item(), uuid4()
    item.assign_to(customer, transfer=False)
    item.assign_to(customer, transfer=False)
    [assigned] = item.pending
    assert assigned == EquipmentOwnerChanged(
        equipment_id=item.id, previous_owner=None, new_owner=customer, reason="assigned"
    )
    assert item.owner == customer


def test_an_item_another_customer_owns_is_refused_without_transfer() -> None:
    item, first, second = an_item(), uuid4(), uuid4()
    item.assign_to(first, transfer=False)
    with pytest.raises(errors.OwnedByAnotherCustomer) as refused:
        item.assign_to(second, transfer=False)
    assert refused.value.owners == {item.id: first}
    assert item.owner == first


def test_transfer_takes_an_item_from_its_owner() -> None:
    item, first, second = an_item(), uuid4(), uuid4()
    item.assign_to(first, transfer=False)
    item.assign_to(second, transfer=True)
    transferred = item.pending[-1]
    assert isinstance(transferred, EquipmentOwnerChanged)
    assert (transferred.previous_owner, transferred.new_owner) == (first, second)
    assert transferred.reason == "transferred"


def test_only_the_owner_can_let_an_item_go() -> None:
    item, owner = an_item(), uuid4()
    with pytest.raises(errors.EquipmentNotOwned):
        item.release_from(owner)
    item.assign_to(owner, transfer=False)
    with pytest.raises(errors.EquipmentNotOwned):
        item.release_from(uuid4())
    item.release_from(owner)
    assert item.owner is None
    assert item.pending[-1].reason == "unassigned"  # type: ignore[attr-defined]


def test_replaying_the_history_gives_the_same_item() -> None:
    item, owner = an_item(brand="Viessmann"), uuid4()
    item.assign_to(owner, transfer=False)
    item.change_details(EquipmentPatch.model_validate({"serial_number": "SN-9"}))
    history = [
        EquipmentRegistered(equipment_id=item.id, name="Chaudière", brand="Viessmann"),
        *item.pending,
    ]
    replayed = Equipment.replay(history)
    assert (replayed.version, replayed.owner, replayed.details) == (3, owner, item.details)
