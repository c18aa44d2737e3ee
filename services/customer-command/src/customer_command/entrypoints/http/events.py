"""The published event contract: JSON Schema of every event type, no token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from customerhub_shared.events import default_registry
from customerhub_shared.events.schemas import event_schemas

router = APIRouter(prefix="/v1/events", tags=["event contract"])


@router.get("/schemas", summary="JSON Schema of every event type, keyed by type")
async def schemas() -> dict[str, Any]:
    return event_schemas(default_registry())
