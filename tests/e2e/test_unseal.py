"""Downstream access over HTTP: a subscriber opens sealed personal fields of events exactly as
the relay publishes them, sees them erased after anonymise, and every call is on record."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from customerhub_shared.cloudevents import to_message
from customerhub_shared.infrastructure import open_event_store
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER, token

BILLING = token("billing-sync", ("subscriber",))


async def _published(settings: Settings, customer_id: str) -> list[dict[str, Any]]:
    """The customer's events as the relay puts them on the topic."""
    events = await open_event_store(settings)
    try:
        recorded = await events.read_stream(f"customer-{customer_id}")
    finally:
        await events.close()
    messages = [to_message(event) for event in recorded]
    return [json.loads(message.value) for message in messages if message is not None]


async def _unseal(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> httpx.Response:
    return await client.post("/v1/events/unseal", json={"events": events}, headers=BILLING)


async def test_a_subscriber_opens_personal_fields_until_the_customer_is_anonymised(
    client: httpx.AsyncClient, create: Any, settings: Settings
) -> None:
    customer_id = (await create("Boulangerie Martin", email="contact@martin.example"))["id"]
    sent = await _published(settings, customer_id)
    assert "contact@martin.example" not in json.dumps(sent)

    answer = await _unseal(client, sent)
    assert answer.status_code == 200, answer.text
    created = answer.json()["events"][0]
    assert created["type"] == "customerhub.customer.created.v1"
    assert created["data"]["name"] == "Boulangerie Martin"
    assert created["data"]["email"] == "contact@martin.example"
    assert "_personal" not in created["data"]
    assert created["personal_data_erased"] is False
    assert created["id"] == sent[0]["id"] and created["sequence"] == sent[0]["sequence"]

    erase = await client.post(f"/v1/customers/{customer_id}/anonymise", headers=ADMIN)
    assert erase.status_code == 200, erase.text
    erased = (await _unseal(client, sent)).json()["events"][0]
    assert erased["personal_data_erased"] is True
    assert erased["data"]["name"] is None and erased["data"]["email"] is None
    assert erased["data"]["region"] == "FR-IDF"


async def test_every_unseal_is_on_record_newest_first(
    client: httpx.AsyncClient, create: Any, settings: Settings
) -> None:
    first = (await create("Boulangerie Martin"))["id"]
    second = (await create("Café Rivoli"))["id"]
    assert (await _unseal(client, await _published(settings, first))).status_code == 200
    both = await _published(settings, first) + await _published(settings, second)
    assert (await _unseal(client, both)).status_code == 200

    page = await client.get("/v1/audit/access", params={"limit": 1}, headers=ADMIN)
    assert page.status_code == 200, page.text
    newest = page.json()["items"]
    assert len(newest) == 1
    assert newest[0]["actor"] == "billing-sync"
    assert sorted(newest[0]["customer_ids"]) == sorted([first, second])
    assert newest[0]["events"] == len(both)
    older = await client.get(
        "/v1/audit/access", params={"before": page.json()["next_before"]}, headers=ADMIN
    )
    assert [entry["customer_ids"] for entry in older.json()["items"]] == [[first]]
    assert older.json()["next_before"] is None


async def test_a_subscriber_can_do_nothing_else(client: httpx.AsyncClient, create: Any) -> None:
    customer_id = (await create())["id"]
    refused = [
        await client.post("/v1/customers", json={"kind": "person"}, headers=BILLING),
        await client.get("/v1/customers", headers=BILLING),
        await client.get(f"/v1/customers/{customer_id}", headers=BILLING),
        await client.get(f"/v1/customers/{customer_id}/history", headers=BILLING),
        await client.put(f"/v1/customers/{customer_id}/labels/vip", headers=BILLING),
        await client.get("/v1/audit/access", headers=BILLING),
        await client.get(f"/v1/customers/{customer_id}/history/verify", headers=BILLING),
        await client.get("/v1/equipment", headers=BILLING),
        await client.get("/v1/notifications", params={"customer_id": customer_id}, headers=BILLING),
    ]
    assert [answer.status_code for answer in refused] == [403] * len(refused)
    assert (
        await client.post("/v1/events/unseal", json={"events": []}, headers=USER)
    ).status_code == 403
    assert (await client.get("/v1/audit/access", headers=USER)).status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"type": "customerhub.customer.invented.v1"},
        {"source": "/somebody/else"},
        {"data": {"_personal": "not base64!"}},
        {"data": {"_personal": 42}},
        {"subject": "not-a-uuid"},
        {"specversion": "0.3"},
    ],
)
async def test_what_is_not_one_of_our_events_is_refused_and_not_recorded(
    client: httpx.AsyncClient, create: Any, settings: Settings, change: dict[str, Any]
) -> None:
    sent = await _published(settings, (await create())["id"])
    answer = await _unseal(client, [{**sent[0], **change}])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/audit/access", headers=ADMIN)).json()["items"] == []


@pytest.mark.parametrize("body", [{}, {"events": []}, {"events": "x"}, [1, 2], {"events": [{}]}])
async def test_malformed_bodies_are_refused(client: httpx.AsyncClient, body: Any) -> None:
    answer = await client.post("/v1/events/unseal", json=body, headers=BILLING)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_more_than_five_hundred_events_are_refused(
    client: httpx.AsyncClient, create: Any, settings: Settings
) -> None:
    sent = await _published(settings, (await create())["id"])
    answer = await _unseal(client, sent[:1] * 501)
    assert answer.status_code in (413, 422)
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await _unseal(client, sent[:1] * 500)).status_code == 200
