"""What the equipment routes need, built once by the composition root, and how routes get it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from customerhub_shared.http.key_locks import KeyLocks
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
    # The log's last position, to refuse at once a `min_position` no event has reached.
    head: Callable[[], Awaitable[int | None]] | None = None
    _key_locks: KeyLocks = field(default_factory=KeyLocks)

    def key_lock(self, scope_key: str) -> AbstractAsyncContextManager[None]:
        return self._key_locks.hold(scope_key)

    async def position(self) -> int | None:
        await self.projector.refresh_generation()
        return await self.projector.position()

    async def read_model(self) -> ReadModel:
        await self.projector.refresh_generation()
        return ReadModel(self.read_store, self.projector.collection)


async def equipment_service(request: Request) -> EquipmentService:
    service: EquipmentService = request.app.state.equipment
    return service


Service = Annotated[EquipmentService, Depends(equipment_service)]
