"""What the equipment routes need, built once by the composition root, and how routes get it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from customerhub_shared.idempotency import IdempotencyStore
from customerhub_shared.projection import Projector
from customerhub_shared.readstore import ReadStore
from equipment.application.handlers import EquipmentPorts
from equipment.application.queries import ReadModel


@dataclass
class EquipmentService:
    """Command ports and idempotency answers; the read store, and the projector whose
    checkpoint says how fresh the equipment read model is (it is run elsewhere)."""

    ports: EquipmentPorts
    idempotency: IdempotencyStore
    read_store: ReadStore
    projector: Projector
    freshness_timeout: float = 2.0
    _key_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def key_lock(self, scope_key: str) -> asyncio.Lock:
        return self._key_locks.setdefault(scope_key, asyncio.Lock())

    async def position(self) -> int | None:
        await self.projector.refresh_generation()
        return await self.projector.position()

    async def read_model(self) -> ReadModel:
        await self.projector.refresh_generation()
        return ReadModel(self.read_store, self.projector.collection)


def equipment_service(request: Request) -> EquipmentService:
    service: EquipmentService = request.app.state.equipment
    return service


Service = Annotated[EquipmentService, Depends(equipment_service)]
