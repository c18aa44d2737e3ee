"""The equipment registry over HTTP: register, edit, list and search, one item, on SQLite and
PostgreSQL (the `settings` fixture)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.e2e.conftest import USER
from tests.e2e.office import assert_problem

BOILER = {
    "name": "Chaudière murale",
    "type": "boiler",
    "brand": "Viessmann",
    "model": "Vitodens 100",
    "reference": "REF-77",
    "serial_number": "SN-2024-0042",
    "image_url": "https://img.example/plates/0042.jpg",
    "business_unit": "Lyon",
}


async def register(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/equipment", json={**BOILER, **fields}, headers=USER)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def read(client: httpx.AsyncClient, url: str, position: int, **params: Any) -> Any:
    response = await client.get(url, params={**params, "min_position": position}, headers=USER)
    assert response.status_code == 200, response.text
    assert int(response.headers["x-read-model-position"]) >= position
    return response.json()


async def head(app: FastAPI) -> int | None:
    return int(await app.state.equipment.ports.items.store.head_position() or 0)


async def test_a_registered_item_reads_back_with_its_nameplate(client: httpx.AsyncClient) -> None:
    created = await client.post("/v1/equipment", json=BOILER, headers=USER)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["version"] == 1 and created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/v1/equipment/{answer['id']}"
    item = await read(client, f"/v1/equipment/{answer['id']}", answer["position"])
    assert {name: item[name] for name in BOILER} == BOILER
    assert item["owner_id"] is None and item["ownership"] == []
    assert (item["created_by"], item["version"]) == ("bob", 1)


async def test_patch_changes_fields_and_if_match_guards_them(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    item = await register(client)
    url = f"/v1/equipment/{item['id']}"
    edited = await client.patch(
        url, json={"model": "Vitodens 200", "image_url": None}, headers={**USER, "If-Match": "1"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    stale = await client.patch(url, json={"model": "X"}, headers={**USER, "If-Match": "1"})
    assert assert_problem(stale, 412)["current_version"] == 2
    shown = await read(client, url, edited.json()["position"])
    assert (shown["model"], shown["image_url"], shown["brand"]) == (
        "Vitodens 200",
        None,
        "Viessmann",
    )
    before = await head(app)
    for bad in ({}, {"name": None}, {"name": ""}, {"image_url": "nope"}, {"colour": "red"}):
        assert_problem(await client.patch(url, json=bad, headers=USER), 422)
    assert_problem(
        await client.patch(f"/v1/equipment/{uuid.uuid4()}", json={"model": "X"}, headers=USER), 404
    )
    assert_problem(
        await client.patch("/v1/equipment/not-an-id", json={"model": "X"}, headers=USER), 422
    )
    assert await head(app) == before


async def test_a_retried_registration_returns_the_first_answer(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = {**USER, "Idempotency-Key": "register-boiler-0042"}
    first = await client.post("/v1/equipment", json=BOILER, headers=headers)
    again = await client.post("/v1/equipment", json=BOILER, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await client.post("/v1/equipment", json={**BOILER, "name": "Pompe"}, headers=headers)
    assert_problem(other, 422)
    assert await head(app) == first.json()["position"]


async def test_search_by_name_reference_or_serial_and_page_with_a_cursor(
    client: httpx.AsyncClient,
) -> None:
    position = 0
    for n, name in enumerate(["Pompe à chaleur", "Chaudière murale", "Chaudière au sol", "Ballon"]):
        answer = await register(client, name=name, reference=f"REF-{n}", serial_number=f"SN-{n}00")
        position = answer["position"]

    async def names(**params: Any) -> list[str]:
        page = await read(client, "/v1/equipment", position, **params)
        return [item["name"] for item in page["items"]]

    assert await names(q="chaudiere") == ["Chaudière au sol", "Chaudière murale"]
    assert await names(q="ref-3") == ["Ballon"]
    assert await names(q="SN-1") == ["Chaudière murale"]
    assert await names(q="sn100") == ["Chaudière murale"]
    assert await names(q="pompe CHAL") == ["Pompe à chaleur"]
    assert await names(q="nothing") == []
    first = await read(client, "/v1/equipment", position, limit=3)
    assert [i["name"] for i in first["items"]] == ["Ballon", "Chaudière au sol", "Chaudière murale"]
    rest = await read(client, "/v1/equipment", position, limit=3, cursor=first["next_cursor"])
    assert [i["name"] for i in rest["items"]] == ["Pompe à chaleur"]
    assert rest["next_cursor"] is None
    bad = await client.get("/v1/equipment", params={"cursor": "garbage"}, headers=USER)
    assert_problem(bad, 400)


async def test_unknown_item_is_404_and_reads_need_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"/v1/equipment/{uuid.uuid4()}", headers=USER), 404)
    assert_problem(await client.get("/v1/equipment"), 401)
    assert_problem(await client.post("/v1/equipment", json=BOILER), 401)


async def test_equipment_events_are_published_with_the_customer_ones(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("/v1/events/schemas")).json()
    for name in ("registered", "details_changed", "owner_changed"):
        schema = schemas[f"customerhub.equipment.{name}.v1"]
        assert schema["x-personal-fields"] == []
    owner_changed = schemas["customerhub.equipment.owner_changed.v1"]
    assert {"previous_owner", "new_owner", "reason"} <= set(owner_changed["properties"])
    channel = (await client.get("/v1/events/asyncapi.json")).json()["channels"]["equipmentEvents"]
    assert channel["address"] == "customerhub.equipment.events"
    assert "customerhub.equipment.owner_changed.v1" in channel["messages"]


async def test_openapi_lists_the_equipment_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/equipment",
        "/v1/equipment/{equipment_id}",
        "/v1/customers/{customer_id}/equipment",
        "/v1/customers/{customer_id}/equipment/{equipment_id}",
    ):
        assert path in paths


async def test_items_carry_a_description_and_list_by_business_unit(
    client: httpx.AsyncClient,
) -> None:
    lyon = await register(client, description="Chaufferie, sous-sol, porte B")
    await register(client, serial_number="SN-2", business_unit="Grenoble")
    untold = await register(client, serial_number="SN-3", business_unit=None)
    patched = await client.patch(
        f"/v1/equipment/{untold['id']}", json={"description": "Cuisine"}, headers=USER
    )
    assert patched.status_code == 200, patched.text
    position = patched.json()["position"]
    item = await read(client, f"/v1/equipment/{lyon['id']}", position)
    assert item["description"] == "Chaufferie, sous-sol, porte B"
    in_lyon = await read(client, "/v1/equipment", position, business_unit="Lyon")
    assert [i["id"] for i in in_lyon["items"]] == [lyon["id"]]
    assert (await read(client, f"/v1/equipment/{untold['id']}", position))["description"] == (
        "Cuisine"
    )
    too_long = await client.post(
        "/v1/equipment", json={**BOILER, "description": "x" * 2001}, headers=USER
    )
    assert_problem(too_long, 422)
