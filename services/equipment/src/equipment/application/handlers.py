"""Command handlers: load the items, let them decide, save what they recorded.

Ownership is decided on the items: assigning and unassigning append owner changes to each
item's own stream, at the version they were decided on, then wait (briefly) until the
ownership reconciler has recorded them on the customers, so the answer shows what the
customer lists now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, assert_never
from uuid import UUID

from customerhub_shared.events.equipment import EquipmentEvent, EquipmentOwnerChanged
from customerhub_shared.eventstore import ConcurrencyConflict
from equipment.adapters.repository import EquipmentRepository, LoadedEquipment
from equipment.application import commands as c
from equipment.application.context import CommandContext, CommandResult, check_if_match
from equipment.application.ports import CustomerLedger, CustomerRecord
from equipment.domain.equipment import Equipment
from equipment.domain.errors import (
    EquipmentAlreadyRegistered,
    EquipmentNotFound,
    LocationNotTheOwners,
    OwnedByAnotherCustomer,
    ReturnedByCustomer,
)

# Concurrent requests for one item each decide again on its fresh state: with 20 of them at
# once, one may lose 19 times before its turn comes.
OWNER_ATTEMPTS = 50
DETAIL_ATTEMPTS = 5
# Items of one bulk request read and appended at once: enough to keep the store busy.
PARALLEL = 8
T = TypeVar("T")
R = TypeVar("R")


class Reconciliation(Protocol):
    async def wait_past(self, position: int) -> bool:
        """True once the owner changes up to `position` are recorded on the customers."""
        ...


@dataclass(frozen=True)
class EquipmentPorts:
    items: EquipmentRepository
    # The customers' side; absent where equipment runs without customer-command beside it.
    customers: CustomerLedger | None = None
    reconciliation: Reconciliation | None = None

    def customer_side(self) -> tuple[CustomerLedger, Reconciliation]:
        if self.customers is None or self.reconciliation is None:
            raise RuntimeError("assigning equipment needs the customers' ledger and reconciler")
        return self.customers, self.reconciliation


@dataclass(frozen=True)
class Decided:
    loaded: LoadedEquipment
    events: tuple[EquipmentEvent, ...]
    position: int | None


@dataclass(frozen=True)
class Moved:
    """An item this request gave the customer: its owner change's revision and position."""

    equipment_id: UUID
    revision: int
    position: int
    transferred: bool


async def _decide(
    items: EquipmentRepository,
    loaded: LoadedEquipment,
    decide: Callable[[Equipment], None],
    ctx: CommandContext,
    *,
    attempts: int,
) -> Decided:
    """Let the item decide and save; a concurrent change makes it decide again on fresh state."""
    for attempt in range(attempts):
        decide(loaded.item)
        events = tuple(loaded.item.pending)
        try:
            result = await items.save(loaded.item, ctx)
        except ConcurrencyConflict:
            if attempt + 1 == attempts:
                raise
            loaded = await items.get(loaded.item.id)
            continue
        return Decided(loaded, events, result.position if result else None)
    raise AssertionError("unreachable")


async def register_equipment(
    cmd: c.RegisterEquipment, ctx: CommandContext, ports: EquipmentPorts
) -> CommandResult:
    item = Equipment.register(cmd.equipment_id, cmd.details)
    try:
        result = await ports.items.save(item, ctx)
    except ConcurrencyConflict:
        return await _registered_by_this_request(ports.items, cmd.equipment_id, ctx)
    assert result is not None
    return CommandResult(item.id, result.version, result.position)


async def _registered_by_this_request(
    items: EquipmentRepository, equipment_id: UUID, ctx: CommandContext
) -> CommandResult:
    """A retry (same Idempotency-Key, so the same id) whose first attempt never answered."""
    first = (await items.history(equipment_id))[0]
    if ctx.idempotency_key is None or (first.metadata.idempotency_key, first.metadata.actor) != (
        ctx.idempotency_key,
        ctx.actor,
    ):
        raise EquipmentAlreadyRegistered(equipment_id)
    return CommandResult(equipment_id, 1, first.position)


async def change_details(
    cmd: c.ChangeEquipmentDetails, ctx: CommandContext, ports: EquipmentPorts
) -> CommandResult:
    # With If-Match a concurrent change is a conflict; without, a reason to decide again.
    attempts = 1 if ctx.expected_version is not None else DETAIL_ATTEMPTS

    def decide(item: Equipment) -> None:
        check_if_match(ctx, item.version)
        item.change_details(cmd.patch)

    loaded = await ports.items.get(cmd.equipment_id)
    decided = await _decide(ports.items, loaded, decide, ctx, attempts=attempts)
    item = decided.loaded.item
    return CommandResult(item.id, item.version, decided.position or decided.loaded.position)


async def assign_equipment(
    cmd: c.AssignEquipment, ctx: CommandContext, ports: EquipmentPorts
) -> CommandResult:
    """All items are checked before any moves: an unknown one, or one another customer owns
    without `transfer`, refuses the request as a whole. A race lost on one item afterwards
    refuses that item only; the answer then says what was assigned."""
    customers, reconciliation = ports.customer_side()
    customer = await customers.open_for_equipment(cmd.customer_id, receiving=True)
    check_if_match(ctx, customer.version)
    items = await _load_all(ports.items, cmd.equipment_ids)
    taken = {it.item.id: it.item.owner for it in items if it.item.owned_by_another(customer.id)}
    if taken and not cmd.transfer:
        raise OwnedByAnotherCustomer({item: owner for item, owner in taken.items() if owner})
    moved, lost = await _take_all(ports.items, items, cmd, ctx)
    settled = await _settled(reconciliation, [move.position for move in moved])
    holder = await _holding(customers, cmd.customer_id)
    assigned = [move.equipment_id for move in moved]
    returned = await _returned(ports.items, holder, moved) if settled else []
    if returned:
        raise ReturnedByCustomer(returned, assigned=assigned)
    if lost:
        raise OwnedByAnotherCustomer(lost, assigned=assigned)
    transferred = [str(move.equipment_id) for move in moved if move.transferred]
    extra = {"assigned": [str(eid) for eid in assigned], "transferred": transferred}
    return _customer_answer(holder, [move.position for move in moved], settled, extra)


async def _load_all(items: EquipmentRepository, ids: Sequence[UUID]) -> list[LoadedEquipment]:
    unique = list(dict.fromkeys(ids))
    found = dict(zip(unique, await _each(items.find, unique), strict=True))
    unknown = [eid for eid, loaded in found.items() if loaded is None]
    if unknown:
        raise EquipmentNotFound(unknown)
    return [loaded for loaded in found.values() if loaded is not None]


async def _take_all(
    items: EquipmentRepository,
    loaded_items: Sequence[LoadedEquipment],
    cmd: c.AssignEquipment,
    ctx: CommandContext,
) -> tuple[list[Moved], dict[UUID, UUID]]:
    """Each item on its own (a few at a time: each is its own stream and its own append); the
    ones another customer took meanwhile are lost (without transfer)."""
    moved: list[Moved] = []
    lost: dict[UUID, UUID] = {}

    def decide(item: Equipment) -> None:
        item.assign_to(cmd.customer_id, transfer=cmd.transfer)

    async def take(loaded: LoadedEquipment) -> Decided | OwnedByAnotherCustomer:
        try:
            return await _decide(items, loaded, decide, ctx, attempts=OWNER_ATTEMPTS)
        except OwnedByAnotherCustomer as race:
            return race

    for decided in await _each(take, loaded_items):
        if isinstance(decided, OwnedByAnotherCustomer):
            lost.update(decided.owners)
            continue
        for event in decided.events:
            if isinstance(event, EquipmentOwnerChanged) and decided.position is not None:
                revision = decided.loaded.item.version - 1
                transferred = event.reason == "transferred"
                moved.append(Moved(event.equipment_id, revision, decided.position, transferred))
    return moved, lost


async def _each(work: Callable[[T], Awaitable[R]], inputs: Sequence[T]) -> list[R]:
    """`work` on every input, PARALLEL at a time, the results in input order."""
    gate = asyncio.Semaphore(PARALLEL)

    async def one(value: T) -> R:
        async with gate:
            return await work(value)

    return list(await asyncio.gather(*(one(value) for value in inputs)))


async def _settled(reconciliation: Reconciliation, positions: Sequence[int]) -> bool:
    return not positions or await reconciliation.wait_past(max(positions))


async def _holding(customers: CustomerLedger, customer_id: UUID) -> CustomerRecord:
    holder = await customers.holding(customer_id)
    assert holder is not None, "a customer found open a moment ago cannot vanish"
    return holder


async def _returned(
    items: EquipmentRepository, holder: CustomerRecord, moved: Sequence[Moved]
) -> list[UUID]:
    """Items the reconciler handed back because the customer refused them (closed meanwhile)."""
    returned: list[UUID] = []
    for move in moved:
        if move.equipment_id in holder.equipment_ids:
            continue
        later = await items.history(move.equipment_id, from_version=move.revision + 1)
        event = later[0].event if later else None
        if isinstance(event, EquipmentOwnerChanged) and event.reason in ("compensated", "merged"):
            returned.append(move.equipment_id)
    return returned


def _customer_answer(
    holder: CustomerRecord, positions: Sequence[int], settled: bool, extra: dict[str, Any]
) -> CommandResult:
    """The customer after the change: its version, what it lists, and a position that covers
    both the items' changes and the customer's record of them (for X-Min-Position reads)."""
    position = max((p for p in (holder.position, *positions) if p is not None), default=None)
    listed = {"equipment_ids": sorted(str(eid) for eid in holder.equipment_ids)}
    return CommandResult(holder.id, holder.version, position, {**listed, **extra}, settled)


async def unassign_equipment(
    cmd: c.UnassignEquipment, ctx: CommandContext, ports: EquipmentPorts
) -> CommandResult:
    customers, reconciliation = ports.customer_side()
    customer = await customers.open_for_equipment(cmd.customer_id, receiving=False)
    check_if_match(ctx, customer.version)
    loaded = await ports.items.get(cmd.equipment_id)

    def decide(item: Equipment) -> None:
        item.release_from(cmd.customer_id)

    decided = await _decide(ports.items, loaded, decide, ctx, attempts=OWNER_ATTEMPTS)
    positions = [decided.position] if decided.position is not None else []
    settled = await _settled(reconciliation, positions)
    return _customer_answer(await _holding(customers, cmd.customer_id), positions, settled, {})


async def place_equipment(
    cmd: c.PlaceEquipment, ctx: CommandContext, ports: EquipmentPorts
) -> CommandResult:
    """The item's stream records the move (its history); the reconciler shows it on the
    customer, as it does owner changes."""
    customers, reconciliation = ports.customer_side()
    customer = await customers.open_for_equipment(cmd.customer_id, receiving=False)
    check_if_match(ctx, customer.version)
    location_id = cmd.location_id
    if location_id is not None and not await customers.has_location(cmd.customer_id, location_id):
        raise LocationNotTheOwners(location_id, cmd.customer_id)
    loaded = await ports.items.get(cmd.equipment_id)

    def decide(item: Equipment) -> None:
        item.place_at(cmd.customer_id, location_id)

    decided = await _decide(ports.items, loaded, decide, ctx, attempts=OWNER_ATTEMPTS)
    positions = [decided.position] if decided.position is not None else []
    settled = await _settled(reconciliation, positions)
    extra = {"location_id": str(location_id) if location_id else None}
    return _customer_answer(await _holding(customers, cmd.customer_id), positions, settled, extra)


async def handle(
    cmd: c.EquipmentCommand, ctx: CommandContext, ports: EquipmentPorts
) -> CommandResult:
    # A match over the union: mypy checks each handler gets its own command, and that
    # every command has one.
    match cmd:
        case c.RegisterEquipment():
            return await register_equipment(cmd, ctx, ports)
        case c.ChangeEquipmentDetails():
            return await change_details(cmd, ctx, ports)
        case c.AssignEquipment():
            return await assign_equipment(cmd, ctx, ports)
        case c.UnassignEquipment():
            return await unassign_equipment(cmd, ctx, ports)
        case c.PlaceEquipment():
            return await place_equipment(cmd, ctx, ports)
        case _:
            assert_never(cmd)
