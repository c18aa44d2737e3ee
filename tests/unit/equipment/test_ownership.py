"""What customers must record for a run of owner changes, and where a refused item goes."""

from __future__ import annotations

from uuid import UUID, uuid4

from customerhub_shared.events.equipment import OwnerChangeReason
from equipment.domain.ownership import OwnerChange, customer_updates, returned_owner


def change(
    item: UUID,
    previous: UUID | None,
    new: UUID | None,
    reason: OwnerChangeReason = "transferred",
    *,
    revision: int = 1,
    request: str = "r1",
) -> OwnerChange:
    return OwnerChange(item, revision, previous, new, reason, "alice", request, uuid4())


def test_a_transfer_is_a_release_first_then_a_receive() -> None:
    item, a, b = uuid4(), uuid4(), uuid4()
    updates = customer_updates([change(item, a, b)])
    assert [(u.customer_id, u.receive, u.equipment_ids) for u in updates] == [
        (a, False, [item]),
        (b, True, [item]),
    ]


def test_one_request_for_many_items_is_one_update_per_customer() -> None:
    customer, items = uuid4(), [uuid4() for _ in range(3)]
    updates = customer_updates([change(i, None, customer, "assigned") for i in items])
    assert len(updates) == 1 and updates[0].equipment_ids == items


def test_per_customer_and_item_only_the_last_change_counts() -> None:
    item, a, b = uuid4(), uuid4(), uuid4()
    there_and_back = [
        change(item, None, a, "assigned", revision=1, request="r1"),
        change(item, a, b, revision=2, request="r2"),
        change(item, b, a, revision=3, request="r3"),
    ]
    updates = {(u.customer_id, u.receive): u for u in customer_updates(there_and_back)}
    assert set(updates) == {(b, False), (a, True)}
    assert updates[(a, True)].changes[0].revision == 3
    assert updates[(a, True)].correlation_id == "r3"


def test_requests_stay_apart_so_each_customer_event_names_its_own() -> None:
    customer = uuid4()
    updates = customer_updates(
        [
            change(uuid4(), None, customer, "assigned", request="r1"),
            change(uuid4(), None, customer, "assigned", request="r2"),
        ]
    )
    assert [u.correlation_id for u in updates] == ["r1", "r2"]


def test_a_refused_item_goes_back_where_it_came_from() -> None:
    item, a, b = uuid4(), uuid4(), uuid4()
    assert returned_owner(change(item, a, b, "transferred"), None) == (a, "compensated")
    assert returned_owner(change(item, None, b, "assigned"), None) == (None, "compensated")


def test_an_item_for_a_merged_customer_goes_to_its_survivor() -> None:
    item, a, merged, survivor = uuid4(), uuid4(), uuid4(), uuid4()
    assert returned_owner(change(item, a, merged), survivor) == (survivor, "merged")


def test_returns_cannot_go_round_in_circles() -> None:
    item, a, b, survivor = uuid4(), uuid4(), uuid4(), uuid4()
    assert returned_owner(change(item, b, a, "compensated"), None) == (None, "compensated")
    assert returned_owner(change(item, b, a, "compensated"), survivor) == (None, "compensated")
    assert returned_owner(change(item, a, survivor, "merged"), None) == (None, "compensated")
