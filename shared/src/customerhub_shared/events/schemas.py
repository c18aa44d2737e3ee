"""JSON Schema of every event type, generated from the one pydantic definition of each."""

from __future__ import annotations

from typing import Any

from customerhub_shared.events.registry import EventRegistry


def event_schemas(registry: EventRegistry) -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for event_type in registry:
        schema = event_type.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:customerhub:event:{event_type.type_name}"
        schema["title"] = event_type.type_name
        schema["x-personal-fields"] = sorted(event_type.personal_fields())
        schemas[event_type.type_name] = schema
    return schemas
