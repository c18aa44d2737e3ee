"""Causation is kept end to end: an event a command appended names the HTTP request that issued
it (its `X-Request-ID`), and an event a process appended names the event it reacted to, so an
equipment assignment on a customer leads back, event by event, to the request behind it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER, new_customer
from tests.e2e.test_relay import store_log
from tests.integration.kafka.test_consumer import eventually

ASSIGNED = "customerhub.customer.equipment_assigned.v1"
OWNER_CHANGED = "customerhub.equipment.owner_changed.v1"


def causation(event: RecordedEvent) -> str | None:
    cause: str | None = json.loads(event.metadata)["causation_id"]
    return cause


async def register(client: httpx.AsyncClient) -> str:
    answer = await client.post("/v1/equipment", json={"name": "Four à sole"}, headers=USER)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_an_equipment_assignment_leads_back_to_the_request_that_issued_it(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    customer = await create()
    item = await register(client)
    answer = await client.post(
        f"/v1/customers/{customer['id']}/equipment", json={"equipment_ids": [item]}, headers=USER
    )
    assert answer.status_code == 200, answer.text
    request_id = answer.headers["X-Request-ID"]

    log = await store_log(settings)
    by_id = {str(event.id): event for event in log}
    (assigned,) = [
        e for e in log if e.type == ASSIGNED and e.stream == f"customer-{customer['id']}"
    ]
    cause = by_id[str(causation(assigned))]
    assert cause.type == OWNER_CHANGED and cause.stream == f"equipment-{item}"
    assert causation(cause) == request_id
    assert request_id not in by_id, "a request id is not an event id"


async def test_every_command_event_names_its_request(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = new_customer("Élodie Durand", kind="person")
    first = await client.post("/v1/customers", json=body, headers=ADMIN)
    assert first.status_code == 201, first.text
    customer_id = first.json()["id"]
    edit = await client.patch(
        f"/v1/customers/{customer_id}", json={"region": "FR-PAC"}, headers=USER
    )
    assert edit.status_code == 200, edit.text
    assert first.headers["X-Request-ID"] != edit.headers["X-Request-ID"]

    stream = [e for e in await store_log(settings) if e.stream == f"customer-{customer_id}"]
    assert [causation(e) for e in stream] == [
        first.headers["X-Request-ID"],
        edit.headers["X-Request-ID"],
    ]


async def test_a_merge_hands_equipment_on_because_of_the_merge_event(
    client: httpx.AsyncClient, create: Callable[..., Any], settings: Settings
) -> None:
    survivor = await create("Boulangerie Martin")
    duplicate = await create("Boulangerie Martin Nord")
    item = await register(client)
    given = await client.post(
        f"/v1/customers/{duplicate['id']}/equipment", json={"equipment_ids": [item]}, headers=USER
    )
    assert given.status_code == 200, given.text
    merge = await client.post(
        f"/v1/customers/{survivor['id']}/merge",
        json={"duplicate_ids": [duplicate["id"]]},
        headers=ADMIN,
    )
    assert merge.status_code == 200, merge.text

    async def handed_to_survivor() -> bool:
        found = await client.get(f"/v1/equipment/{item}", headers=USER)
        return bool(found.json()["owner_id"] == survivor["id"])

    await eventually(handed_to_survivor, timeout=10, what="the item passes to the survivor")
    log = await store_log(settings)
    by_id = {str(event.id): event for event in log}
    handed = [e for e in log if e.type == OWNER_CHANGED and e.stream == f"equipment-{item}"][-1]
    assert json.loads(handed.data)["reason"] == "merged"
    merged = by_id[str(causation(handed))]
    assert merged.type == "customerhub.customer.duplicates_merged.v1"
    assert causation(merged) == merge.headers["X-Request-ID"]
