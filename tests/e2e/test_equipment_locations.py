"""Where an item stands: at one of its owner's locations, moved with history, cleared by a
transfer, shown on the customer per location; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from tests.e2e.conftest import USER
from tests.e2e.test_equipment_assignment import (
    assert_problem,
    assign,
    customer,
    item,
    register,
    settled,
)


async def place(
    client: httpx.AsyncClient, customer_id: str, equipment_id: str, location_id: str | None
) -> httpx.Response:
    url = f"/v1/customers/{customer_id}/equipment/{equipment_id}/location"
    return await client.put(url, json={"location_id": location_id}, headers=USER)


def placed(answer: dict[str, Any]) -> dict[str, list[str]]:
    return {loc["location_id"]: loc["equipment_ids"] for loc in answer["locations"]}


async def test_an_item_moves_between_its_owners_locations_and_a_transfer_clears_it(
    client: httpx.AsyncClient, create: Callable[..., Any], app: FastAPI
) -> None:
    bakery = (await create("Boulangerie Martin"))["id"]
    other = (await create("Garage Martinez"))["id"]
    added = await client.post(
        f"/v1/customers/{bakery}/locations", json={"city": "Lyon"}, headers=USER
    )
    assert added.status_code == 201, added.text
    lyon = added.json()["location_id"]
    [oven] = await register(client)
    assert (await assign(client, bakery, [oven])).status_code == 200
    main = (await customer(client, bakery, await settled(app)))["main_location_id"]

    first = await place(client, bakery, oven, main)
    assert first.status_code == 200, first.text
    assert first.json()["location_id"] == main
    moved = await place(client, bakery, oven, lyon)
    assert moved.status_code == 200, moved.text
    position = await settled(app)
    assert placed(await customer(client, bakery, position)) == {main: [], lyon: [oven]}
    history = await item(client, oven, position)
    assert history["location_id"] == lyon
    assert [p["location_id"] for p in history["placements"]] == [main, lyon]
    assert history["placements"][0]["by"] == "bob"

    taken = await assign(client, other, [oven], transfer=True)
    assert taken.status_code == 200, taken.text
    position = await settled(app)
    assert (await item(client, oven, position))["location_id"] is None
    assert placed(await customer(client, bakery, position)) == {main: [], lyon: []}
    assert all(not ids for ids in placed(await customer(client, other, position)).values())


async def test_only_the_owner_places_an_item_and_only_at_its_own_locations(
    client: httpx.AsyncClient, create: Callable[..., Any], app: FastAPI
) -> None:
    bakery = (await create("Boulangerie Martin"))["id"]
    other = (await create("Garage Martinez"))["id"]
    [oven] = await register(client)
    assert (await assign(client, bakery, [oven])).status_code == 200
    position = await settled(app)
    elsewhere = (await customer(client, other, position))["main_location_id"]
    assert_problem(await place(client, bakery, oven, elsewhere), 422)
    own = (await customer(client, other, position))["main_location_id"]
    assert_problem(await place(client, other, oven, own), 409)
    assert (await item(client, oven, position))["placements"] == []
