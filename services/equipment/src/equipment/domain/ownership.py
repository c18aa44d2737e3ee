"""Ownership rules between items and customers, as the ownership reconciler applies them.

The items' streams decide who owns what; customers record it after them. These pure rules say
what the customers must record for a run of owner changes, and where an item goes when the
customer it was given to can no longer take it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from customerhub_shared.events.equipment import OwnerChangeReason


@dataclass(frozen=True, slots=True)
class OwnerChange:
    """One EquipmentOwnerChanged as read from the log, with who caused it."""

    equipment_id: UUID
    revision: int
    previous_owner: UUID | None
    new_owner: UUID | None
    reason: OwnerChangeReason
    actor: str
    correlation_id: str
    event_id: UUID
    # The trace the change belongs to (W3C traceparent), continued when it is recorded.
    traceparent: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerUpdate:
    """Items one customer must start (`receive`) or stop listing, for one actor and request."""

    customer_id: UUID
    receive: bool
    changes: tuple[OwnerChange, ...]
    actor: str
    correlation_id: str

    @property
    def equipment_ids(self) -> list[UUID]:
        return [change.equipment_id for change in self.changes]

    @property
    def causation_id(self) -> str:
        """The owner change the customer's record follows from: the last of them, when one
        write records several (they share the request, which each of them names)."""
        return str(self.changes[-1].event_id)


def customer_updates(changes: Iterable[OwnerChange]) -> list[CustomerUpdate]:
    """What the customers must record so that each lists exactly the items naming it.

    Listing and unlisting are set operations, so per customer and item only the last change
    counts: the result equals recording every change one by one in log order, in one write
    per customer and request. Releases come first, so an item is never listed by its next
    owner before its previous owner let it go.
    """
    last: dict[tuple[UUID, UUID], tuple[bool, OwnerChange]] = {}
    for change in changes:
        if change.previous_owner is not None:
            last[(change.previous_owner, change.equipment_id)] = (False, change)
        if change.new_owner is not None:
            last[(change.new_owner, change.equipment_id)] = (True, change)
    grouped: dict[tuple[bool, UUID, str, str], list[OwnerChange]] = {}
    for (customer_id, _), (receive, change) in last.items():
        key = (receive, customer_id, change.actor, change.correlation_id)
        grouped.setdefault(key, []).append(change)
    updates = [
        CustomerUpdate(customer_id, receive, tuple(group), actor, correlation_id)
        for (receive, customer_id, actor, correlation_id), group in grouped.items()
    ]
    return sorted(updates, key=lambda update: update.receive)


def returned_owner(
    change: OwnerChange, merged_into: UUID | None
) -> tuple[UUID | None, OwnerChangeReason]:
    """Where an item goes when its new owner refuses it (closed since the change was decided).

    A merged customer's survivor takes it; otherwise it goes back to the customer it was taken
    from. What was merged or given back and is refused again goes to no one, so returns
    cannot go round in circles (a merge chain only leads forward).
    """
    if merged_into is not None and change.reason != "compensated":
        return merged_into, "merged"
    if change.reason in ("assigned", "transferred"):
        return change.previous_owner, "compensated"
    return None, "compensated"
