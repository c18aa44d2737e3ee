"""Contacts have a given and a family name (contact_added.v2); contacts stored as v1, with one
name, are read as v2 by the command side, the customers view and notifications alike."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI

from customer_command.adapters.repository import customer_stream
from customer_command.application.context import CommandContext
from customerhub_shared.events.customer import ContactAddedV1, MainContactChosen, NotifyChannels
from tests.e2e.conftest import USER

V1 = "customerhub.customer.contact_added.v1"
V2 = "customerhub.customer.contact_added.v2"


async def _read(client: httpx.AsyncClient, url: str, position: int, **params: Any) -> Any:
    headers = {**USER, "X-Min-Position": str(position)}
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _stored_types(app: FastAPI, customer_id: str) -> list[str]:
    store = app.state.customer_command.ports.customers.writer.store
    return [event.type for event in await store.read_stream(customer_stream(UUID(customer_id)))]


async def _add_v1_contact(app: FastAPI, customer_id: UUID, name: str, email: str) -> UUID:
    """Appends contact_added.v1 exactly as customerhub wrote it before v2, and makes it main."""
    writer = app.state.customer_command.ports.customers.writer
    contact_id = uuid.uuid4()
    ctx = CommandContext(actor="alice", correlation_id="before-v2")
    events = [
        ContactAddedV1(
            customer_id=customer_id,
            contact_id=contact_id,
            name=name,
            email=email,
            notify=NotifyChannels(email=True),
        ),
        MainContactChosen(customer_id=customer_id, contact_id=contact_id),
    ]
    await writer.append(
        customer_stream(customer_id), events, ctx, expected_version=1, key_subject=customer_id
    )
    return contact_id


async def test_a_contact_given_whole_or_in_parts_is_written_as_v2(
    client: httpx.AsyncClient, app: FastAPI, create: Any
) -> None:
    customer_id = (await create())["id"]
    url = f"/v1/customers/{customer_id}/contacts"
    whole = await client.post(url, json={"name": "Claire Martin"}, headers=USER)
    parts = await client.post(
        url, json={"given_name": "Mary Ann", "family_name": "Smith"}, headers=USER
    )
    assert whole.status_code == parts.status_code == 201, (whole.text, parts.text)
    assert (await _stored_types(app, customer_id)).count(V2) == 2
    customer = await _read(client, f"/v1/customers/{customer_id}", parts.json()["position"])
    names = {(c["name"], c["given_name"], c["family_name"]) for c in customer["contacts"]}
    assert names == {("Claire Martin", "Claire", "Martin"), ("Mary Ann Smith", "Mary Ann", "Smith")}


async def test_a_contact_named_twice_or_not_at_all_is_refused(
    client: httpx.AsyncClient, create: Any
) -> None:
    url = f"/v1/customers/{(await create())['id']}/contacts"
    for body in (
        {"name": "Claire Martin", "given_name": "Claire"},
        {"email": "claire@martin.example"},
        {"name": "Claire", "family_name": "Martin"},
    ):
        response = await client.post(url, json=body, headers=USER)
        assert response.status_code == 422, (body, response.text)


async def test_a_stored_v1_contact_is_read_as_v2_everywhere(
    client: httpx.AsyncClient, app: FastAPI, create: Any
) -> None:
    customer_id = (await create())["id"]
    contact_id = await _add_v1_contact(
        app, UUID(customer_id), "Claire Martin", "claire@martin.example"
    )
    assert (await _stored_types(app, customer_id))[1] == V1

    # The command side folds it: the contact can be edited.
    renamed = await client.patch(
        f"/v1/customers/{customer_id}/contacts/{contact_id}",
        json={"position": "Gérante"},
        headers=USER,
    )
    assert renamed.status_code == 200, renamed.text
    customer = await _read(client, f"/v1/customers/{customer_id}", renamed.json()["position"])
    [contact] = customer["contacts"]
    assert (contact["name"], contact["given_name"], contact["family_name"]) == (
        "Claire Martin",
        "Claire",
        "Martin",
    )
    assert contact["position"] == "Gérante" and contact["main"]
    history = await _read(
        client, f"/v1/customers/{customer_id}/history", renamed.json()["position"]
    )
    assert V2 in {entry["type"] for entry in history["items"]}
    assert V1 not in {entry["type"] for entry in history["items"]}

    # Notifications fold it too: the main contact it names is welcomed.
    for _ in range(1000):
        log = await _read(client, "/v1/notifications", 0, customer_id=customer_id)
        welcomes = [e for e in log["items"] if e["template"] == "welcome"]
        if welcomes and welcomes[0]["status"] != "pending":
            break
        await asyncio.sleep(0.02)
    assert [(e["contact_id"], e["recipient"]) for e in welcomes] == [
        (str(contact_id), "claire@martin.example")
    ]
