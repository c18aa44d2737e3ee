"""The published event contract: JSON Schema of every event type and the AsyncAPI document of
the topics, both generated from code; public, no token needed."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter

from customerhub_shared.events import default_registry
from customerhub_shared.events.schemas import asyncapi_document, event_schemas

router = APIRouter(prefix="/v1/events", tags=["event contract"])


@cache
def _schemas() -> dict[str, Any]:
    return event_schemas(default_registry())


@cache
def _asyncapi() -> dict[str, Any]:
    return asyncapi_document(default_registry())


@router.get("/schemas", summary="JSON Schema of every event type, keyed by type")
async def get_event_schemas() -> dict[str, Any]:
    return _schemas()


@router.get(
    "/asyncapi.json",
    summary="AsyncAPI 3.0 document of the Kafka topics and their CloudEvents messages",
)
async def get_asyncapi_document() -> dict[str, Any]:
    return _asyncapi()
