"""A customer's timeline over HTTP: comments, calls, visits, emails and notifications sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI

from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER


async def record(
    client: httpx.AsyncClient, customer_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"/v1/customers/{customer_id}/activities", json=body, headers=USER)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def timeline(
    client: httpx.AsyncClient, customer_id: str, position: int, **params: Any
) -> dict[str, Any]:
    headers = {**USER, "X-Min-Position": str(position)}
    url = f"/v1/customers/{customer_id}/activities"
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_activities_read_back_newest_first_with_who_recorded_them(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create("Boulangerie Martin"))["id"]
    call = await record(
        client,
        customer,
        {"kind": "call", "text": "Asked for a quote", "occurred_at": "2026-03-02T09:00:00Z"},
    )
    visit = await record(
        client,
        customer,
        {"kind": "visit", "text": "Oven serviced", "occurred_at": "2026-03-03T15:30:00+01:00"},
    )
    comment = await record(client, customer, {"kind": "comment", "text": "Pays late"})
    assert comment["version"] == 4 and comment["activity_id"]

    page = await timeline(client, customer, comment["position"], limit=2)
    assert [item["activity_id"] for item in page["items"]] == [
        comment["activity_id"],
        visit["activity_id"],
    ]
    assert page["items"][1] == {
        "activity_id": visit["activity_id"],
        "kind": "visit",
        "text": "Oven serviced",
        "occurred_at": "2026-03-03T14:30:00.000000Z",
        "by": "bob",
        "channel": None,
        "template": None,
    }
    older = await timeline(client, customer, comment["position"], before=page["next_before"])
    assert [item["activity_id"] for item in older["items"]] == [call["activity_id"]]
    assert older["next_before"] is None


async def test_a_bad_activity_is_422_and_an_unknown_customer_404(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create("Boulangerie Martin"))["id"]
    url = f"/v1/customers/{customer}/activities"
    for body in (
        {"kind": "fax", "text": "x"},
        {"kind": "call", "text": ""},
        {"kind": "call", "text": "x", "occurred_at": "2026-03-02T09:00:00"},
    ):
        refused = await client.post(url, json=body, headers=USER)
        assert refused.status_code == 422, (body, refused.text)
    unknown = await client.post(
        "/v1/customers/00000000-0000-4000-8000-000000000000/activities",
        json={"kind": "call", "text": "x"},
        headers=USER,
    )
    assert unknown.status_code == 404


async def test_comment_texts_are_sealed_and_erased_on_anonymise(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = (await create("Boulangerie Martin"))["id"]
    await record(client, customer, {"kind": "comment", "text": "Madame Martin est malade"})
    if settings.event_store == "sqlite":
        stored = (settings.data_dir / "events.db").read_bytes()
        assert b"est malade" not in stored
    erased = await client.post(f"/v1/customers/{customer}/anonymise", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    page = await timeline(client, customer, erased.json()["position"])
    assert [item["text"] for item in page["items"]] == [None]
    assert page["items"][0]["kind"] == "comment" and page["items"][0]["by"] == "bob"


async def test_notifications_sent_appear_in_the_timeline(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = (await create("Boulangerie Martin"))["id"]
    contact = {"name": "Claire", "phone": "+33 6 12 34 56 78", "notify": {"sms": True}}
    added = await client.post(f"/v1/customers/{customer}/contacts", json=contact, headers=USER)
    assert added.status_code == 201, added.text
    body = {
        "customer_id": customer,
        "template": "technician_en_route",
        "params": {"technician": "Marc", "eta": "10:30"},
    }
    sent = await client.post("/v1/notifications", json=body, headers=USER)
    assert sent.status_code == 202, sent.text
    await record(client, customer, {"kind": "call", "text": "Confirmed the visit"})
    position = added.json()["position"]
    for _ in range(250):
        items = (await timeline(client, customer, position))["items"]
        if any(item["kind"] == "notification" for item in items):
            break
        await asyncio.sleep(0.02)
    notification = next(item for item in items if item["kind"] == "notification")
    assert notification["activity_id"] == sent.json()["delivery_ids"][0]
    assert notification["channel"] == "sms" and notification["template"] == "technician_en_route"
    assert notification["by"] == "bob"


async def test_an_activity_racing_an_anonymisation_is_refused_not_a_server_error(
    client: httpx.AsyncClient, create: Callable[..., Any], app: FastAPI
) -> None:
    customer = (await create("Boulangerie Martin"))["id"]
    # Anonymising destroys the key first, then appends: the command lands in between.
    await app.state.customer_command.ports.keyring.destroy(UUID(customer))
    url = f"/v1/customers/{customer}/activities"
    refused = await client.post(url, json={"kind": "call", "text": "x"}, headers=USER)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("customer-being-forgotten")
