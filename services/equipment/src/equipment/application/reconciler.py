"""The ownership reconciler: customers record what the items' streams decided, in log order.

It follows the global log with its own checkpoint and is the one writer of the customers'
EquipmentAssigned / EquipmentUnassigned. For the owner changes of a batch, the previous
owners let the items go and the new owners list them (`customer_updates`). A new owner that
refuses (closed since the change was decided) lists nothing, and the item is handed on
(`returned_owner`) by a change appended at the version right after the refused one: a later
change always wins, and a second pass over the same batch hands nothing on twice. It reacts
to merges too: each item a merged duplicate still owns passes to the survivor.

All it does is decided on the current state of the stream it writes (what a customer lists,
an item's version), so a batch processed again after a crash changes nothing more: its
checkpoint, saved after the batch, needs no transaction shared with the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import cast
from uuid import UUID

from customerhub_shared.consumers import Progressed, wait_for_position
from customerhub_shared.events import Envelope
from customerhub_shared.events.customer import DuplicatesMerged
from customerhub_shared.events.equipment import EquipmentLocated, EquipmentOwnerChanged
from customerhub_shared.eventstore import ConcurrencyConflict, RecordedEvent
from customerhub_shared.http.problems import Problem
from customerhub_shared.tracing import continuing
from equipment.adapters.repository import EquipmentRepository, equipment_stream
from equipment.application.context import CommandContext
from equipment.application.ports import Checkpoints, CustomerLedger
from equipment.domain.ownership import (
    CustomerUpdate,
    OwnerChange,
    customer_updates,
    returned_owner,
)

CHECKPOINT = "equipment.ownership-reconciler"
ACTOR = "customerhub:ownership-reconciler"
HANDOVER_ATTEMPTS = 20


class OwnershipReconciler:
    def __init__(
        self,
        *,
        items: EquipmentRepository,
        customers: CustomerLedger,
        checkpoints: Checkpoints,
        wait_timeout: float,
    ) -> None:
        self.items = items
        self.customers = customers
        self.checkpoints = checkpoints
        self.wait_timeout = wait_timeout
        self._woken = asyncio.Event()
        self._progressed = Progressed()

    async def position(self) -> int | None:
        return await self.checkpoints.get(CHECKPOINT)

    async def wait_past(self, position: int) -> bool:
        """True once the owner changes up to `position` are recorded on the customers; False
        if that took longer than the wait timeout (they will be, later)."""
        self.wake()
        reached = await wait_for_position(
            self.position, position, timeout=self.wait_timeout, progressed=self._progressed.wait
        )
        return reached >= position

    def wake(self) -> None:
        """Something was appended: look at the log now rather than at the next poll."""
        self._woken.set()

    async def woken(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout)
        self._woken.clear()

    name = CHECKPOINT

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        changes: list[OwnerChange] = []
        for recorded in batch:
            if recorded.type == EquipmentOwnerChanged.type_name:
                changes.append(_owner_change(self._decoded(recorded)))
            elif recorded.type == DuplicatesMerged.type_name:
                await self._record(changes)
                changes = []
                await self._merged(self._decoded(recorded))
            elif recorded.type == EquipmentLocated.type_name:
                await self._record(changes)
                changes = []
                await self._located(self._decoded(recorded))
        await self._record(changes)
        if batch or covered is not None:
            await self.checkpoints.save(
                CHECKPOINT, batch[-1].position if covered is None else covered
            )
            self._progressed.signal()

    async def _located(self, envelope: Envelope) -> None:
        event = cast(EquipmentLocated, envelope.event)
        await self.customers.place(
            event.owner_id,
            event.equipment_id,
            event.location_id,
            actor=ACTOR,
            correlation_id=envelope.metadata.correlation_id,
            causation_id=str(envelope.event_id),
        )

    def _decoded(self, recorded: RecordedEvent) -> Envelope:
        # No key: the fields used here (ids, reasons) are never personal data.
        return self.items.mapper.to_envelope(recorded, key=None)

    async def _record(self, changes: Sequence[OwnerChange]) -> None:
        for update in customer_updates(changes):
            with continuing("ownership-reconciler record", update.changes[0].traceparent):
                await self._record_one(update)

    async def _record_one(self, update: CustomerUpdate) -> None:
        if not update.receive:
            await self.customers.release(
                update.customer_id,
                update.equipment_ids,
                actor=update.actor,
                correlation_id=update.correlation_id,
                causation_id=update.causation_id,
            )
            return
        try:
            await self.customers.receive(
                update.customer_id,
                update.equipment_ids,
                actor=update.actor,
                correlation_id=update.correlation_id,
                causation_id=update.causation_id,
            )
        except Problem as refusal:
            await self._refused(update, refusal)

    async def _refused(self, update: CustomerUpdate, refusal: Problem) -> None:
        # Items it did list were accepted before it closed: they stay (a second pass).
        holder = await self.customers.holding(update.customer_id)
        listed = holder.equipment_ids if holder is not None else frozenset()
        merged_into = refusal.extensions.get("merged_into")
        survivor = UUID(str(merged_into)) if merged_into else None
        for change in update.changes:
            if change.equipment_id not in listed:
                await self._hand_on(change, survivor)

    async def _hand_on(self, change: OwnerChange, survivor: UUID | None) -> None:
        loaded = await self.items.find(change.equipment_id)
        if loaded is None or loaded.item.version != change.revision + 1:
            return  # the item moved on since the refused change: a later change decides
        to, reason = returned_owner(change, survivor)
        loaded.item.hand_over(to, reason)
        with contextlib.suppress(ConcurrencyConflict):  # moved on meanwhile: the same
            await self.items.save(loaded.item, _context(change.correlation_id, change.event_id))

    async def _merged(self, envelope: Envelope) -> None:
        """The survivor took over the duplicates' lists: their items now pass to it. One it
        listed that names another owner (moved on meanwhile) it lets go."""
        merged = cast(DuplicatesMerged, envelope.event)
        ctx = _context(envelope.metadata.correlation_id, envelope.event_id)
        stray = [
            equipment_id
            for equipment_id in merged.equipment_ids
            if not await self._pass_to_survivor(equipment_id, merged, ctx)
        ]
        if stray:
            await self.customers.release(
                merged.customer_id,
                stray,
                actor=ACTOR,
                correlation_id=ctx.correlation_id,
                causation_id=str(envelope.event_id),
            )

    async def _pass_to_survivor(
        self, equipment_id: UUID, merged: DuplicatesMerged, ctx: CommandContext
    ) -> bool:
        """False when the item names neither a duplicate nor the survivor."""
        for _ in range(HANDOVER_ATTEMPTS):
            loaded = await self.items.find(equipment_id)
            owner = loaded.item.owner if loaded is not None else None
            if owner == merged.customer_id:
                return True
            if loaded is None or owner not in merged.duplicate_ids:
                return False
            loaded.item.hand_over(merged.customer_id, "merged")
            try:
                await self.items.save(loaded.item, ctx)
            except ConcurrencyConflict:
                continue
            return True
        raise ConcurrencyConflict(equipment_stream(equipment_id), None, -1)


def _owner_change(envelope: Envelope) -> OwnerChange:
    event = cast(EquipmentOwnerChanged, envelope.event)
    return OwnerChange(
        equipment_id=event.equipment_id,
        revision=envelope.revision,
        previous_owner=event.previous_owner,
        new_owner=event.new_owner,
        reason=event.reason,
        actor=envelope.metadata.actor,
        correlation_id=envelope.metadata.correlation_id,
        event_id=envelope.event_id,
        traceparent=envelope.metadata.traceparent,
    )


def _context(correlation_id: str, causation: UUID) -> CommandContext:
    return CommandContext(actor=ACTOR, correlation_id=correlation_id, causation_id=str(causation))
