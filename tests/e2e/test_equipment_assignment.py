"""Equipment given to customers over HTTP: both streams record it, the customer lists it, and
the customer rules (delete, merge, anonymise, closed customers) hold, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from tests.e2e.conftest import ADMIN, USER
from tests.e2e.office import assert_problem


async def register(client: httpx.AsyncClient, count: int = 1) -> list[str]:
    ids = []
    for n in range(count):
        body = {"name": f"Chaudière {n}", "serial_number": f"SN-{n:04}"}
        response = await client.post("/v1/equipment", json=body, headers=USER)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def assign(
    client: httpx.AsyncClient, customer_id: str, ids: list[str], **extra: Any
) -> httpx.Response:
    body = {"equipment_ids": ids, **extra}
    return await client.post(f"/v1/customers/{customer_id}/equipment", json=body, headers=USER)


async def customer(client: httpx.AsyncClient, customer_id: str, position: int) -> Any:
    response = await client.get(
        f"/v1/customers/{customer_id}", params={"min_position": position}, headers=USER
    )
    assert response.status_code == 200, response.text
    return response.json()


async def item(client: httpx.AsyncClient, equipment_id: str, position: int = 0) -> Any:
    response = await client.get(
        f"/v1/equipment/{equipment_id}", params={"min_position": position}, headers=USER
    )
    assert response.status_code == 200, response.text
    return response.json()


async def head(app: FastAPI) -> int:
    return int(await app.state.equipment.ports.items.store.head_position() or 0)


async def settled(app: FastAPI) -> int:
    """The log head once the reconciler and both projectors have caught up with it (they
    append nothing more): what follows from a command is then visible everywhere."""
    followers = [
        app.state.equipment.ports.reconciliation.position,
        app.state.equipment.position,
        app.state.customer_query.position,
    ]
    for _ in range(500):
        reached = await head(app)
        positions = [await position() or 0 for position in followers]
        if min(positions) >= reached and await head(app) == reached:
            return reached
        await asyncio.sleep(0.01)
    raise AssertionError("the followers did not catch up with the log")


async def test_bulk_assignment_is_recorded_on_the_items_and_on_the_customer(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    owner = await create()
    ids = await register(client, 3)
    answer = await assign(client, owner["id"], [*ids, ids[0]])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == owner["id"] and body["version"] == 1 + 3
    assert answer.headers["etag"] == f'"{body["version"]}"'
    assert body["equipment_ids"] == sorted(ids) and body["assigned"] == ids
    assert body["transferred"] == []
    read = await customer(client, owner["id"], body["position"])
    assert read["equipment_ids"] == sorted(ids) and read["version"] == body["version"]
    owned = await client.get(
        "/v1/equipment",
        params={"customer_id": owner["id"], "min_position": body["position"]},
        headers=USER,
    )
    assert sorted(i["id"] for i in owned.json()["items"]) == sorted(ids)
    shown = await item(client, ids[1], body["position"])
    assert shown["owner_id"] == owner["id"]
    [period] = shown["ownership"]
    assert (period["customer_id"], period["began"], period["assigned_by"]) == (
        owner["id"],
        "assigned",
        "bob",
    )


async def test_transfer_moves_an_item_between_customers_and_unassign_lets_it_go(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    first, second = await create("Garage Dupont"), await create("Garage Durand")
    [equipment_id] = await register(client)
    await assign(client, first["id"], [equipment_id])
    refused = assert_problem(await assign(client, second["id"], [equipment_id]), 409)
    assert refused["owners"] == {equipment_id: first["id"]}
    moved = await assign(client, second["id"], [equipment_id], transfer=True)
    assert moved.status_code == 200 and moved.json()["transferred"] == [equipment_id]
    position = moved.json()["position"]
    assert (await customer(client, first["id"], position))["equipment_ids"] == []
    assert (await customer(client, second["id"], position))["equipment_ids"] == [equipment_id]
    let_go = await client.delete(
        f"/v1/customers/{second['id']}/equipment/{equipment_id}", headers=USER
    )
    assert let_go.status_code == 200, let_go.text
    assert let_go.json()["equipment_ids"] == []
    periods = (await item(client, equipment_id, let_go.json()["position"]))["ownership"]
    assert [(p["customer_id"], p["began"], p["ended"]) for p in periods] == [
        (first["id"], "assigned", "transferred"),
        (second["id"], "transferred", "unassigned"),
    ]
    assert periods[0]["until"] == periods[1]["since"]


async def test_refusals_are_problems_and_append_nothing(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    open_customer, archived = await create("Ouvert"), await create("Archivé")
    anonymised, duplicate = await create("Anonyme", kind="person"), await create("Doublon")
    await client.post(f"/v1/customers/{archived['id']}/archive", headers=USER)
    await client.post(f"/v1/customers/{anonymised['id']}/anonymise", headers=ADMIN)
    await client.post(
        f"/v1/customers/{open_customer['id']}/merge",
        json={"duplicate_ids": [duplicate["id"]]},
        headers=ADMIN,
    )
    mine, free = await register(client, 2)
    await assign(client, open_customer["id"], [mine])
    before = await settled(app)
    url = f"/v1/customers/{open_customer['id']}/equipment"
    for bad in ({"equipment_ids": ["not-a-uuid"]}, {"equipment_ids": []}, {"ids": [free]}):
        assert_problem(await client.post(url, json=bad, headers=USER), 422)
    assert_problem(await assign(client, "not-a-uuid", [free]), 422)
    unknown = str(uuid.uuid4())
    missing = assert_problem(await assign(client, open_customer["id"], [free, unknown]), 404)
    assert missing["equipment_ids"] == [unknown]
    assert_problem(await assign(client, str(uuid.uuid4()), [free]), 404)
    closed = assert_problem(await assign(client, archived["id"], [free]), 409)
    assert closed["type"].endswith("customer-is-archived")
    gone = assert_problem(await assign(client, anonymised["id"], [free]), 409)
    assert gone["type"].endswith("customer-was-anonymised")
    redirect = assert_problem(await assign(client, duplicate["id"], [free]), 409)
    assert redirect["merged_into"] == open_customer["id"]
    not_owned = await client.delete(
        f"/v1/customers/{archived['id']}/equipment/{mine}", headers=USER
    )
    assert assert_problem(not_owned, 409)["type"].endswith("equipment-not-owned")
    assert_problem(
        await client.delete(f"{url}/{uuid.uuid4()}", headers=USER),
        404,
    )
    stale = await client.post(
        url, json={"equipment_ids": [free]}, headers={**USER, "If-Match": "1"}
    )
    assert_problem(stale, 412)
    assert await head(app) == before
    assert (await item(client, free))["owner_id"] is None


async def test_a_customer_owning_equipment_cannot_be_deleted(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    owner = await create()
    [equipment_id] = await register(client)
    await assign(client, owner["id"], [equipment_id])
    refused = assert_problem(
        await client.delete(f"/v1/customers/{owner['id']}", headers=ADMIN), 409
    )
    assert refused["type"].endswith("customer-has-equipment")
    await client.delete(f"/v1/customers/{owner['id']}/equipment/{equipment_id}", headers=USER)
    assert (await client.delete(f"/v1/customers/{owner['id']}", headers=ADMIN)).status_code == 200


async def test_merging_passes_the_duplicates_equipment_to_the_survivor(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    survivor, duplicate = await create("Martin SA"), await create("Martin S.A. ERRONÉ")
    ids = await register(client, 2)
    await assign(client, duplicate["id"], ids)
    merged = await client.post(
        f"/v1/customers/{survivor['id']}/merge",
        json={"duplicate_ids": [duplicate["id"]]},
        headers=ADMIN,
    )
    assert merged.status_code == 200, merged.text
    position = await settled(app)
    assert (await customer(client, survivor["id"], position))["equipment_ids"] == sorted(ids)
    for equipment_id in ids:
        shown = await item(client, equipment_id, position)
        assert shown["owner_id"] == survivor["id"]
        assert [(p["customer_id"], p["began"], p["ended"]) for p in shown["ownership"]] == [
            (duplicate["id"], "assigned", "merged"),
            (survivor["id"], "merged", None),
        ]
    left = await client.get("/v1/equipment", params={"customer_id": duplicate["id"]}, headers=USER)
    assert left.json()["items"] == []
    redirects = await client.get(
        "/v1/customers", params={"status": "merged", "min_position": position}, headers=USER
    )
    [redirect] = redirects.json()["items"]
    assert redirect["id"] == duplicate["id"] and redirect["equipment_ids"] == []


async def test_anonymising_keeps_the_equipment_history_without_personal_data(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    person = await create(
        "Jean Dupuis", kind="person", email="jean@dupuis.example", phone="+33 6 11 22 33 44"
    )
    [equipment_id] = await register(client)
    await assign(client, person["id"], [equipment_id])
    answer = await client.post(f"/v1/customers/{person['id']}/anonymise", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    position = await settled(app)
    shown = await item(client, equipment_id, position)
    assert shown["owner_id"] == person["id"]
    assert [p["customer_id"] for p in shown["ownership"]] == [person["id"]]
    stored = await app.state.equipment.ports.items.store.read_stream(f"equipment-{equipment_id}")
    answered = str(shown).encode()
    for personal in (b"Dupuis", b"dupuis.example", b"33 6 11", b"33611"):
        assert personal not in answered
        assert all(personal not in event.data + event.metadata for event in stored)
    # It can still let its equipment go, and then be deleted.
    released = await client.delete(
        f"/v1/customers/{person['id']}/equipment/{equipment_id}", headers=USER
    )
    assert released.status_code == 200, released.text
    assert (await client.delete(f"/v1/customers/{person['id']}", headers=ADMIN)).status_code == 200
