"""The contract downstream teams read: JSON Schemas and the AsyncAPI document, public, no token,
describing exactly what travels on the topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import customerhub.app as embedded
from customerhub_shared.cloudevents import CHANNELS, CloudEvent, to_message
from customerhub_shared.events import EventMetadata, default_registry
from customerhub_shared.events.customer import CustomerCreated
from customerhub_shared.events.schemas import SEALED_PROPERTY
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.mapper import EventMapper
from customerhub_shared.settings import Settings

REGISTRY = default_registry()
PUBLISHED = [t for t in REGISTRY if t.aggregate in CHANNELS]
INTERNAL = [t for t in REGISTRY if t.aggregate not in CHANNELS]


@pytest.fixture(
    params=[embedded.create_app, customer_command.create_app], ids=["embedded", "command"]
)
async def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    create_app: Callable[[Settings], FastAPI] = request.param
    app = create_app(
        Settings(
            data_dir=tmp_path,
            jwt_secret="contract-secret-0123456789abcdef0123456789",
            log_level="WARNING",
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://customerhub") as http:
            yield http


async def test_the_schemas_are_public_and_describe_the_sealed_wire_form(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/events/schemas")
    assert response.status_code == 200
    schemas: dict[str, Any] = response.json()
    assert set(schemas) == {t.type_name for t in REGISTRY}
    for event_type in REGISTRY:
        schema = schemas[event_type.type_name]
        assert schema["$id"] == f"urn:customerhub:event:{event_type.type_name}"
        personal = event_type.personal_fields()
        for name in personal:
            assert schema["properties"][name]["x-personal"] is True
            assert "_personal" in schema["properties"][name]["description"]
        assert not personal & set(schema.get("required", ()))
        assert (SEALED_PROPERTY in schema["properties"]) == bool(personal)
        assert ("x-topic" in schema) != ("x-internal" in schema)
    created = schemas["customerhub.customer.created.v1"]
    assert created["properties"][SEALED_PROPERTY]["type"] == "string"
    assert "AES-256-GCM" in created["properties"][SEALED_PROPERTY]["description"]
    assert created["required"] == ["customer_id", "kind", "main_location_id"]


async def test_the_asyncapi_document_is_public_and_lists_every_published_type(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/events/asyncapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert document["defaultContentType"] == "application/cloudevents+json"
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {"customerhub.customer.events", "customerhub.equipment.events"}
    messages = document["components"]["messages"]
    assert set(messages) == {t.type_name for t in PUBLISHED}
    assert not {t.type_name for t in INTERNAL} & set(messages)
    customer_channel = document["channels"]["customerEvents"]
    assert set(customer_channel["messages"]) == {
        t.type_name for t in PUBLISHED if t.aggregate == "customer"
    }
    for operation in document["operations"].values():
        assert operation["action"] == "send"
    assert_every_reference_resolves(document)


async def test_a_real_message_matches_its_asyncapi_description(client: httpx.AsyncClient) -> None:
    document: dict[str, Any] = (await client.get("/v1/events/asyncapi.json")).json()
    customer_id = uuid.uuid4()
    event = CustomerCreated(
        customer_id=customer_id, kind="company", name="Café Étoile", main_location_id=uuid.uuid4()
    )
    metadata = EventMetadata(actor="alice", correlation_id="c", occurred_at=datetime.now(UTC))
    new = EventMapper(REGISTRY).to_new_event(event, metadata, key=bytes(32))
    message = to_message(
        RecordedEvent(
            id=new.id,
            stream=f"customer-{customer_id}",
            revision=0,
            position=1,
            type=new.type,
            data=new.data,
            metadata=new.metadata,
            recorded_at=datetime.now(UTC),
        )
    )
    assert message is not None
    described = document["components"]["messages"][event.type_name]
    headers = resolve(document, described["headers"])
    assert {name for name, _ in message.headers} == set(headers["properties"])
    assert (
        dict(message.headers)["content-type"].decode()
        == (headers["properties"]["content-type"]["const"])
    )
    envelope, refinement = described["payload"]["allOf"]
    attributes = resolve(document, envelope)
    body = CloudEvent.model_validate_json(message.value).model_dump(mode="json", exclude_none=True)
    assert set(attributes["required"]) <= set(body) <= set(attributes["properties"])
    for name, constant in refinement["properties"].items():
        if "const" in constant:
            assert body[name] == constant["const"], name
    data_schema = resolve(document, refinement["properties"]["data"])
    assert set(body["data"]) <= set(data_schema["properties"])
    assert set(data_schema["required"]) <= set(body["data"])
    assert data_schema["properties"]["name"]["x-personal"] is True
    assert "name" not in body["data"] and SEALED_PROPERTY in body["data"]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_every_reference_resolves(node: Any, document: Any = None) -> None:
    document = document if document is not None else node
    if isinstance(node, dict):
        if "$ref" in node:
            assert node["$ref"].startswith("#/"), node["$ref"]
            resolve(document, node)
        for value in node.values():
            assert_every_reference_resolves(value, document)
    elif isinstance(node, list):
        for value in node:
            assert_every_reference_resolves(value, document)


async def test_the_asyncapi_document_says_how_a_subscriber_unseals(
    client: httpx.AsyncClient,
) -> None:
    document: dict[str, Any] = (await client.get("/v1/events/asyncapi.json")).json()
    unseal = document["x-unseal"]
    assert (unseal["route"], unseal["role"], unseal["maxEvents"]) == (
        "POST /v1/events/unseal",
        "subscriber",
        500,
    )
    assert "personal_data_erased" in unseal["description"]
    assert "/v1/events/unseal" in document["info"]["description"]
    sealed = document["components"]["schemas"]["CustomerCreated"]["properties"][SEALED_PROPERTY]
    assert "POST /v1/events/unseal" in sealed["description"]
    # The route the document names is served where the document is.
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "post" in paths["/v1/events/unseal"]
