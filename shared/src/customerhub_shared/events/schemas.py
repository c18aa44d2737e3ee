"""The published event contract, generated from the one pydantic definition of each event:
the JSON Schema of every event type, and the AsyncAPI 3.0 document of the Kafka topics.

Both describe the wire form honestly: personal fields (`Personal[...]`) never travel in plain
text; the mapper seals them into one `_personal` string (AES-GCM, the customer's own key), so
their properties are marked `x-personal` and are never required, and `_personal` is listed.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from customerhub_shared.cloudevents import (
    CHANNELS,
    CONTENT_TYPE,
    MEDIA_TYPE,
    CloudEvent,
    Topics,
)
from customerhub_shared.events.base import DomainEvent
from customerhub_shared.events.registry import EventRegistry

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SEALED_PROPERTY = "_personal"
KAFKA_BINDING_VERSION = "0.5.0"

_PERSONAL_NOTE = (
    "Personal data: on the bus and in the event store it travels sealed inside `_personal`,"
    " never in plain text; it reads as absent once the customer is anonymised."
)
_SEALED_SCHEMA: dict[str, Any] = {
    "type": "string",
    "contentEncoding": "base64",
    "title": "Sealed personal data",
    "description": (
        "The event's personal fields (those marked x-personal that have a value) as one JSON"
        " object, sealed with AES-256-GCM under the customer's own key: base64 of a 12-byte"
        " nonce followed by the ciphertext and tag, with the event id's 16 bytes as associated"
        " data. Only holders of the customer's key can open it. Anonymising the customer"
        " destroys the key (crypto-shredding), after which no copy can be opened any more:"
        " not in the event store, not on Kafka, not in backups. Absent when the event has no"
        " personal value. Downstream services open it through the API, not with keys of their"
        " own: POST /v1/events/unseal (see the document's x-unseal)."
    ),
}

# How a downstream service reads the personal fields it is entitled to.
UNSEAL = {
    "route": "POST /v1/events/unseal",
    "role": "subscriber",
    "maxEvents": 500,
    "request": '{"events": [<CloudEvent exactly as read from the topic>, ...]}',
    "response": (
        '{"events": [<the same CloudEvent, `data` with its personal fields in place of'
        ' `_personal`, and "personal_data_erased": false>, ...]}'
    ),
    "description": (
        "A service account with the `subscriber` role (a JWT whose roles hold `subscriber`)"
        " posts the events it consumed, up to 500 per call, and gets them back with each"
        " personal field opened under the customer's key. Once the customer was anonymised"
        " its key is gone: the answer says `personal_data_erased: true` and the personal"
        " fields are null, so a consumer that keeps copies must drop them then. Every call is"
        " recorded (who, which customers, how many events, when) in an access log admins read"
        " at GET /v1/audit/access. A subscriber may do nothing else with the API."
    ),
}


def event_schemas(registry: EventRegistry) -> dict[str, dict[str, Any]]:
    """The JSON Schema (2020-12) of every event type, keyed by its versioned type name."""
    schemas = {event_type.type_name: event_schema(event_type) for event_type in registry}
    for type_name, schema in schemas.items():
        _mark_superseded(schema, registry.superseded_by(type_name))
    return schemas


def _mark_superseded(described: dict[str, Any], current: str | None) -> None:
    """An old version: still on the topics (stored events are never rewritten), no longer
    written; readers of the event store get it as `current`."""
    if current is None:
        return
    described["x-superseded-by"] = current
    described["description"] = " ".join(
        part
        for part in (
            described.get("description"),
            f"Superseded by {current}: no longer written; events already recorded keep this"
            f" type on the topic, and customerhub reads them as {current} (upcast).",
        )
        if part
    )


def event_schema(event_type: type[DomainEvent]) -> dict[str, Any]:
    """One event type's `data` on the wire, as a standalone JSON Schema."""
    schema = event_type.model_json_schema(mode="serialization")
    _describe_wire_form(schema, event_type)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = f"urn:customerhub:event:{event_type.type_name}"
    schema["title"] = event_type.type_name
    schema["x-personal-fields"] = sorted(event_type.personal_fields())
    channel = CHANNELS.get(event_type.aggregate)
    if channel is None:
        # Kept inside customer-command's own streams (name reservations, number ranges).
        schema["x-internal"] = True
    else:
        schema["x-topic"] = Topics().for_aggregate(channel.aggregate)
        schema["x-source"] = channel.source
    return schema


def asyncapi_document(registry: EventRegistry, topics: Topics | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the topics customerhub publishes, and of their messages."""
    topics = topics or Topics()
    published = [t for t in registry if t.aggregate in CHANNELS]
    refs, top = models_json_schema(
        [(t, "serialization") for t in published] + [(CloudEvent, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = top.get("$defs", {})
    model_name = {t: refs[(t, "serialization")]["$ref"].rsplit("/", 1)[-1] for t in published}
    for event_type in published:
        component = schemas[model_name[event_type]]
        _describe_wire_form(component, event_type)
        component["x-event-type"] = event_type.type_name
        _mark_superseded(component, registry.superseded_by(event_type.type_name))
    schemas["CloudEventHeaders"] = _kafka_headers_schema()

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel in CHANNELS.values():
        channel_id = f"{channel.aggregate}Events"
        topic = topics.for_aggregate(channel.aggregate)
        mine = [t for t in published if t.aggregate == channel.aggregate]
        for event_type in mine:
            messages[event_type.type_name] = _message(
                event_type, model_name[event_type], channel.source
            )
        channels[channel_id] = {
            "address": topic,
            "title": f"{channel.aggregate} events",
            "description": (
                f"Every event of every {channel.aggregate} stream, in the order of each stream:"
                f" the message key is the {channel.aggregate} id, so one {channel.aggregate}'s"
                " events share a partition. Delivery is at-least-once: deduplicate by `id`, or"
                " skip an event whose `sequence` is not above the last one applied for its"
                " `subject`." + ("" if mine else " (No event type is published here yet.)")
            ),
            "messages": {
                t.type_name: {"$ref": f"#/components/messages/{t.type_name}"} for t in mine
            },
            "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}},
        }
        operations[f"publish{channel.aggregate.title()}Events"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "title": f"Publish {channel.aggregate} events",
            "summary": (
                f"{channel.source} publishes each {channel.aggregate} event once the event"
                " store recorded it (through the relay)."
            ),
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{t.type_name}"} for t in mine],
        }
    document: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "id": "urn:customerhub:events",
        "info": {
            "title": "customerhub events",
            "version": "1.0.0",
            "description": (
                "What customerhub publishes on Kafka: one CloudEvents 1.0 JSON event per"
                " message (structured mode), `data` as the event store recorded it. Event types"
                " are versioned (`….v1`); a breaking change is a new type, and the old one's"
                " schema names it in `x-superseded-by`. Personal fields"
                " travel sealed in `data._personal` (see x-personal), so anonymising a customer"
                " makes them unreadable everywhere, Kafka included; a downstream service with"
                " the `subscriber` role opens them with POST /v1/events/unseal (x-unseal)."
                " JSON Schemas of every type: GET /v1/events/schemas."
            ),
        },
        "x-unseal": copy.deepcopy(UNSEAL),
        "defaultContentType": MEDIA_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {
                "correlationid": {
                    "description": "The request or process the event belongs to",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
    }
    # AsyncAPI's default schema format is JSON Schema draft-07: tuples in its own words.
    converted: dict[str, Any] = _draft07_tuples(document)
    return converted


def _message(event_type: type[DomainEvent], model: str, source: str) -> dict[str, Any]:
    summary = (event_type.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    message: dict[str, Any] = {
        "name": event_type.type_name,
        "title": event_type.__name__,
        "contentType": MEDIA_TYPE,
        "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type.type_name},
                        "source": {"const": source},
                        "dataschema": {"const": f"urn:customerhub:event:{event_type.type_name}"},
                        "data": {"$ref": f"#/components/schemas/{model}"},
                    },
                },
            ]
        },
        "correlationId": {"$ref": "#/components/correlationIds/correlationid"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "format": "uuid",
                    "description": "The aggregate id (the CloudEvent's subject)",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    if summary:
        message["summary"] = summary
    return message


def _kafka_headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": (
            "Kafka headers: `content-type` marks structured mode, the only mode used; no `ce_`"
            " header is sent (auto-detecting readers would take the message for binary mode)."
        ),
        "required": ["content-type"],
        "properties": {"content-type": {"const": CONTENT_TYPE}},
    }


def _describe_wire_form(schema: dict[str, Any], event_type: type[DomainEvent]) -> None:
    """Personal properties: documented where they are (sealed), never required."""
    personal = event_type.personal_fields()
    if not personal:
        return
    properties: dict[str, Any] = schema["properties"]
    for name in sorted(personal):
        described = dict(properties[name])
        described["x-personal"] = True
        described["description"] = " ".join(
            part for part in (described.get("description"), _PERSONAL_NOTE) if part
        )
        properties[name] = described
    properties[SEALED_PROPERTY] = copy.deepcopy(_SEALED_SCHEMA)
    required = [name for name in schema.get("required", []) if name not in personal]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)


def _draft07_tuples(node: Any) -> Any:
    """`prefixItems` (2020-12) to draft-07's `items: [...]` with `additionalItems: false`."""
    if isinstance(node, list):
        return [_draft07_tuples(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _draft07_tuples(value) for key, value in node.items()}
    if "prefixItems" in converted:
        converted["items"] = converted.pop("prefixItems")
        converted["additionalItems"] = False
    return converted
