"""The ownership reconciler: customers end up listing exactly what the items say, whatever
happened between an owner change and its record on the customers, and after a crash."""

from __future__ import annotations

from uuid import UUID

import pytest

from customer_command.application import commands as cc
from equipment.application.reconciler import CHECKPOINT
from tests.unit.equipment.world import World


@pytest.fixture
def world() -> World:
    return World()


async def test_the_new_owner_lists_the_item_and_the_previous_one_lets_it_go(world: World) -> None:
    first, second, item = await world.customer(), await world.customer(), await world.item()
    await world.move(item, first)
    await world.move(item, second)
    await world.reconcile()
    assert await world.listed(first) == set()
    assert await world.listed(second) == {item}


async def busy_log(world: World) -> tuple[list[UUID], list[UUID]]:
    """Assignments, a transfer, a refusal: a log with every kind of reconciler work."""
    customers = [await world.customer() for _ in range(3)]
    items = [await world.item() for _ in range(4)]
    for n, item in enumerate(items):
        await world.move(item, customers[n % 3])
    await world.move(items[0], customers[2])
    await world.customer_command(cc.ArchiveCustomer(customers[1]))
    return customers, items


async def test_a_batch_processed_again_after_a_crash_appends_nothing(world: World) -> None:
    await busy_log(world)
    batch = await world.events.read_all(limit=100)
    await world.reconciler.process(batch)
    head = await world.events.head_position()

    world.checkpoints.positions.pop(CHECKPOINT)  # it crashed before saving its checkpoint
    await world.reconciler.process(await world.events.read_all(limit=len(batch)))

    assert await world.events.head_position() == head


async def test_a_replay_from_scratch_ends_with_the_same_owners_and_lists(world: World) -> None:
    customers, items = await busy_log(world)
    await world.reconcile(batch_size=3)
    listed = [await world.listed(customer) for customer in customers]

    world.checkpoints.positions.pop(CHECKPOINT)  # a lost checkpoint store
    await world.reconcile(batch_size=5)

    assert [await world.listed(customer) for customer in customers] == listed
    assert listed == [{items[3]}, set(), {items[0], items[2]}]


async def test_a_customer_archived_meanwhile_gets_nothing_and_the_item_goes_back(
    world: World,
) -> None:
    first, second, item = await world.customer(), await world.customer(), await world.item()
    await world.assign(first, item)
    await world.move(item, second)
    await world.customer_command(cc.ArchiveCustomer(second))
    await world.reconcile()
    assert await world.owner(item) == first
    assert await world.listed(first) == {item} and await world.listed(second) == set()
    reasons = [change.reason for change in await world.owner_changes(item)]
    assert reasons == ["assigned", "transferred", "compensated"]


async def test_an_item_given_back_and_refused_again_goes_to_no_one(world: World) -> None:
    first, second, item = await world.customer(), await world.customer(), await world.item()
    await world.assign(first, item)
    await world.move(item, second)
    await world.customer_command(cc.ArchiveCustomer(first))
    await world.customer_command(cc.ArchiveCustomer(second))
    await world.reconcile()
    assert await world.owner(item) is None
    # The first owner kept nothing: it let the item go before it was handed back and refused.
    assert await world.listed(first) == set() and await world.listed(second) == set()


async def test_an_item_that_moved_on_is_not_handed_back(world: World) -> None:
    first, second, third = [await world.customer() for _ in range(3)]
    item = await world.item()
    await world.assign(first, item)
    await world.move(item, second)
    await world.move(item, third)
    await world.customer_command(cc.ArchiveCustomer(second))
    await world.reconcile()
    assert await world.owner(item) == third
    assert [c.reason for c in await world.owner_changes(item)][-1] == "transferred"
    assert await world.listed(third) == {item} and await world.listed(first) == set()


async def test_an_item_given_to_a_customer_merged_meanwhile_goes_to_the_survivor(
    world: World,
) -> None:
    survivor, duplicate, item = await world.customer(), await world.customer(), await world.item()
    await world.move(item, duplicate)
    await world.customer_command(cc.MergeCustomers(survivor, (duplicate,)))
    await world.reconcile()
    assert await world.owner(item) == survivor
    assert await world.listed(survivor) == {item}
    last = (await world.owner_changes(item))[-1]
    assert (last.previous_owner, last.new_owner, last.reason) == (duplicate, survivor, "merged")


async def test_merging_passes_the_duplicates_items_to_the_survivor(world: World) -> None:
    survivor, duplicate = await world.customer(), await world.customer()
    items = [await world.item() for _ in range(2)]
    await world.assign(duplicate, *items)
    await world.customer_command(cc.MergeCustomers(survivor, (duplicate,)))
    await world.reconcile()
    for item in items:
        assert await world.owner(item) == survivor
        chain = [(c.previous_owner, c.new_owner) for c in await world.owner_changes(item)]
        assert chain == [(None, duplicate), (duplicate, survivor)]
    assert await world.listed(survivor) == set(items)


async def test_a_survivor_lets_go_an_item_that_moved_on_before_the_merge(world: World) -> None:
    survivor, duplicate, buyer = (
        await world.customer(),
        await world.customer(),
        await world.customer(),
    )
    item = await world.item()
    await world.assign(duplicate, item)
    await world.move(item, buyer)  # transferred away, not yet recorded on the duplicate
    await world.customer_command(cc.MergeCustomers(survivor, (duplicate,)))
    assert item in await world.listed(survivor)  # the merge took over the duplicate's list
    await world.reconcile()
    assert await world.owner(item) == buyer
    assert await world.listed(survivor) == set() and await world.listed(buyer) == {item}


async def test_a_deleted_customer_gets_nothing_and_the_item_goes_back(world: World) -> None:
    owner, item = await world.customer(), await world.item()
    await world.move(item, owner)
    await world.customer_command(cc.DeleteCustomer(owner))  # it lists nothing yet: allowed
    await world.reconcile()
    assert await world.owner(item) is None
