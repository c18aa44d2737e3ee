"""Items loaded from and saved to their event streams (`equipment-<uuid>`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast
from uuid import UUID

from customerhub_shared.events import Envelope
from customerhub_shared.events.equipment import EquipmentEvent
from customerhub_shared.eventstore import AppendResult, EventStore
from customerhub_shared.mapper import EventMapper
from customerhub_shared.tracing import appending
from equipment.application.context import CommandContext
from equipment.domain.equipment import Equipment
from equipment.domain.errors import EquipmentNotFound


def equipment_stream(equipment_id: UUID) -> str:
    return f"equipment-{equipment_id}"


@dataclass(slots=True)
class LoadedEquipment:
    item: Equipment
    position: int


class EquipmentRepository:
    def __init__(self, store: EventStore, mapper: EventMapper) -> None:
        self.store = store
        self.mapper = mapper

    async def history(self, equipment_id: UUID, *, from_version: int = 0) -> list[Envelope]:
        # Equipment events carry no personal data: nothing to decrypt, no key.
        recorded = await self.store.read_stream(
            equipment_stream(equipment_id), from_version=from_version
        )
        return [self.mapper.to_envelope(event, key=None) for event in recorded]

    async def find(self, equipment_id: UUID) -> LoadedEquipment | None:
        history = await self.history(equipment_id)
        if not history:
            return None
        events = [cast(EquipmentEvent, envelope.event) for envelope in history]
        return LoadedEquipment(Equipment.replay(events), history[-1].position)

    async def get(self, equipment_id: UUID) -> LoadedEquipment:
        loaded = await self.find(equipment_id)
        if loaded is None:
            raise EquipmentNotFound([equipment_id])
        return loaded

    async def save(self, item: Equipment, ctx: CommandContext) -> AppendResult | None:
        if not item.pending:
            return None
        stream = equipment_stream(item.id)
        with appending(stream, item.pending):
            metadata = ctx.metadata()
            new_events = [
                self.mapper.to_new_event(event, metadata, key=None) for event in item.pending
            ]
            result = await self.store.append(
                stream, new_events, expected_version=item.version - len(item.pending)
            )
        item.pending.clear()
        return result
