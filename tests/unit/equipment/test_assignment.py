"""Assigning and unassigning through the handlers: items decide, customers record after them."""

from __future__ import annotations

from uuid import uuid4

import pytest

from customer_command.application import commands as cc
from customerhub_shared.http.problems import Problem
from equipment.domain import errors
from tests.unit.equipment.world import World


@pytest.fixture
def world() -> World:
    return World()


async def test_bulk_assignment_gives_every_item_and_the_customer_lists_them(world: World) -> None:
    customer = await world.customer()
    items = [await world.item() for _ in range(3)]
    answer = await world.assign(customer, *items)
    assert answer.settled and answer.id == customer
    assert answer.extra["assigned"] == [str(i) for i in items]
    assert answer.extra["equipment_ids"] == sorted(str(i) for i in items)
    assert await world.listed(customer) == set(items)
    assert answer.version == 1 + len(items)  # created, then one EquipmentAssigned per item
    assert all([await world.owner(i) == customer for i in items])


async def test_assigning_what_the_customer_owns_changes_nothing(world: World) -> None:
    customer, item = await world.customer(), await world.item()
    await world.assign(customer, item)
    head = await world.events.head_position()
    again = await world.assign(customer, item)
    assert again.extra["assigned"] == [] and await world.events.head_position() == head


async def test_an_item_owned_by_another_refuses_the_whole_request_without_transfer(
    world: World,
) -> None:
    owner, other = await world.customer(), await world.customer()
    mine, free = await world.item(), await world.item()
    await world.assign(owner, mine)
    head = await world.events.head_position()
    with pytest.raises(errors.OwnedByAnotherCustomer) as refused:
        await world.assign(other, free, mine)
    assert refused.value.owners == {mine: owner}
    assert await world.events.head_position() == head
    moved = await world.assign(other, free, mine, transfer=True)
    assert moved.extra["transferred"] == [str(mine)]
    assert await world.listed(owner) == set() and await world.listed(other) == {free, mine}


async def test_unknown_items_refuse_the_request_and_name_themselves(world: World) -> None:
    customer, known, unknown = await world.customer(), await world.item(), uuid4()
    with pytest.raises(errors.EquipmentNotFound) as refused:
        await world.assign(customer, known, unknown)
    assert refused.value.equipment_ids == (unknown,)
    assert await world.owner(known) is None


async def test_a_closed_customer_is_refused_as_the_customer_service_answers(world: World) -> None:
    archived, item = await world.customer(), await world.item()
    await world.customer_command(cc.ArchiveCustomer(archived))
    with pytest.raises(Problem) as refused:
        await world.assign(archived, item)
    assert refused.value.status == 409 and refused.value.type.endswith("customer-is-archived")
    survivor, duplicate = await world.customer(), await world.customer()
    await world.customer_command(cc.MergeCustomers(survivor, (duplicate,)))
    with pytest.raises(Problem) as merged:
        await world.assign(duplicate, item)
    assert merged.value.extensions["merged_into"] == str(survivor)
    with pytest.raises(Problem) as unknown:
        await world.assign(uuid4(), item)
    assert unknown.value.status == 404
    assert await world.owner_changes(item) == []


async def test_unassigning_lets_the_item_go_on_both_sides(world: World) -> None:
    customer, item = await world.customer(), await world.item()
    await world.assign(customer, item)
    answer = await world.unassign(customer, item)
    assert answer.extra["equipment_ids"] == []
    assert await world.owner(item) is None and await world.listed(customer) == set()
    with pytest.raises(errors.EquipmentNotOwned):
        await world.unassign(customer, item)


async def test_a_customer_closed_while_its_items_were_assigned_gets_a_409_and_nothing(
    world: World,
) -> None:
    customer, item = await world.customer(), await world.item()
    archive = world.customer_command(cc.ArchiveCustomer(customer))
    original = world.wait_past

    async def archived_meanwhile(position: int) -> bool:
        await archive
        return await original(position)

    world.wait_past = archived_meanwhile  # type: ignore[method-assign]
    with pytest.raises(errors.ReturnedByCustomer) as refused:
        await world.assign(customer, item)
    assert refused.value.returned == (item,)
    assert await world.owner(item) is None and await world.listed(customer) == set()
    assert [c.reason for c in await world.owner_changes(item)] == ["assigned", "compensated"]
