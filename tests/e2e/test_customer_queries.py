"""customer-query over HTTP: customers written with the command API, read back with the query API.

The embedded app serves both services over one event store and one read store (SQLite, or
MongoDB), with the projector following the log in the background.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

import customer_query.bootstrap as customer_query
from customerhub.app import create_app
from customerhub_shared.settings import Settings
from tests.e2e.conftest import USER
from tests.e2e.office import Office, assert_problem, read_store_settings

POSITION = "x-read-model-position"


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The embedded default, and the same app with its read model in MongoDB (FerretDB here)."""
    # Generous: FerretDB on a loaded 2-core machine can take a while to project.
    return read_store_settings(request, tmp_path, freshness=2.0)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


class Hub(Office):
    """An office whose every read answers at or past its own writes."""

    async def read(self, url: str, **params: Any) -> httpx.Response:
        response = await super().read(url, **params)
        assert int(response.headers[POSITION]) >= self.position, response.headers
        return response


@pytest.fixture
def hub(client: httpx.AsyncClient) -> Hub:
    return Hub(client)


async def three_customers(hub: Hub) -> dict[str, str]:
    return {
        "martin": await hub.create(
            "Boulangerie Martin", labels=["vip"], region="FR-IDF", customer_number="C-7001"
        ),
        "elodie": await hub.create(
            "Élodie Dubois",
            kind="person",
            region="BE",
            email="elodie@dubois.example",
            phone="+32 2 555 12 34",
            customer_number="C-7002",
        ),
        "garage": await hub.create(
            "Garage Martinez",
            region="FR-IDF",
            email="atelier@martinez.example",
            phone="+33 4 72 00 00 00",
            customer_number="C-7003",
        ),
    }


async def test_search_matches_word_prefixes_without_case_or_accents(hub: Hub) -> None:
    await three_customers(hub)
    assert await hub.names(q="boul") == ["Boulangerie Martin"]
    assert await hub.names(q="MARTIN") == ["Boulangerie Martin", "Garage Martinez"]
    assert await hub.names(q="élo") == ["Élodie Dubois"]
    assert await hub.names(q="ELODIE dub") == ["Élodie Dubois"]
    assert await hub.names(q="elodie@dub") == ["Élodie Dubois"]
    assert await hub.names(q="02 555") == ["Élodie Dubois"]
    assert await hub.names(q="+33 4 72") == ["Garage Martinez"]
    assert await hub.names(q="C-7003") == ["Garage Martinez"]
    assert await hub.names(q="nobody") == []


async def test_filters_and_sorts(hub: Hub) -> None:
    ids = await three_customers(hub)
    await hub.command("POST", f"/v1/customers/{ids['garage']}/roles", {"role": "supplier"})
    await hub.command("POST", f"/v1/customers/{ids['elodie']}/archive", headers=USER)
    assert await hub.names(label="vip") == ["Boulangerie Martin"]
    assert await hub.names(role="supplier") == ["Garage Martinez"]
    assert await hub.names(region="FR-IDF") == ["Boulangerie Martin", "Garage Martinez"]
    assert await hub.names(status="archived") == ["Élodie Dubois"]
    assert await hub.names(sort="-name") == ["Garage Martinez", "Boulangerie Martin"]
    assert await hub.names(sort="-name", include="archived") == [
        "Garage Martinez",
        "Élodie Dubois",
        "Boulangerie Martin",
    ]
    assert await hub.names(sort="-created_at", include="archived") == [
        "Garage Martinez",
        "Élodie Dubois",
        "Boulangerie Martin",
    ]
    by_number = await hub.ok("/v1/customers", sort="customer_number", include="archived")
    assert [c["customer_number"] for c in by_number["items"]] == ["C-7001", "C-7002", "C-7003"]


async def test_cursor_pages_through_every_customer_once(hub: Hub) -> None:
    for number in range(5):
        await hub.create(f"Client {number}")
    seen: list[str] = []
    page = await hub.ok("/v1/customers", limit=2, sort="name")
    while True:
        seen += [customer["name"] for customer in page["items"]]
        if page["next_cursor"] is None:
            break
        page = await hub.ok("/v1/customers", limit=2, sort="name", cursor=page["next_cursor"])
    assert seen == [f"Client {number}" for number in range(5)]


async def test_one_customer_is_answered_with_its_contacts_and_no_internal_fields(
    hub: Hub,
) -> None:
    customer_id = await hub.create("Boulangerie Martin")
    contact = await hub.command(
        "POST",
        f"/v1/customers/{customer_id}/contacts",
        {"name": "Claire Martin", "email": "claire@martin.example", "main": True},
        headers=USER,
    )
    customer = await hub.ok(f"/v1/customers/{customer_id}")
    assert customer["id"] == customer_id and customer["status"] == "active"
    assert customer["main_contact_id"] == contact["contact_id"]
    assert customer["contacts"][0]["main"] and customer["contacts"][0]["name"] == "Claire Martin"
    assert customer["version"] == contact["version"]
    assert customer["created_by"] == "alice" and customer["updated_by"] == "bob"
    assert "search_terms" not in customer and "_id" not in customer


async def test_a_merged_id_answers_with_the_survivor(hub: Hub) -> None:
    survivor = await hub.create("Boulangerie Martin", labels=["vip"])
    duplicate = await hub.create("Boulangerie Martin Nord", labels=["old"])
    await hub.command("POST", f"/v1/customers/{survivor}/merge", {"duplicate_ids": [duplicate]})
    answer = await hub.ok(f"/v1/customers/{duplicate}")
    assert answer["id"] == survivor and answer["merged_into"] == survivor
    assert answer["requested_id"] == duplicate
    assert answer["labels"] == ["old", "vip"] and answer["merged_ids"] == [duplicate]
    assert await hub.names() == ["Boulangerie Martin"], "a merged duplicate is not listed"
    assert await hub.names(status="merged") == ["Boulangerie Martin Nord"]


async def test_history_is_newest_first_with_who_did_what(hub: Hub) -> None:
    customer_id = await hub.create("Boulangerie Martin")
    url = f"/v1/customers/{customer_id}"
    await hub.command("PATCH", url, {"region": "BE"}, headers=USER)
    await hub.command("PUT", f"{url}/labels/late", headers=USER)
    history = await hub.ok(f"{url}/history")
    types = [entry["type"].split(".")[2] for entry in history["items"]]
    assert types == ["label_added", "details_changed", "created"]
    assert [entry["actor"] for entry in history["items"]] == ["bob", "bob", "alice"]
    assert history["items"][1]["changes"]["region"] == "BE"
    assert "customer_id" not in history["items"][0]["changes"]
    older = await hub.ok(f"{url}/history", limit=1, before=history["items"][1]["revision"])
    assert [entry["revision"] for entry in older["items"]] == [0]
    assert older["next_before"] is None


async def test_as_of_before_an_edit_shows_the_old_value(hub: Hub) -> None:
    customer_id = await hub.create("Boulangerie Martin", region="FR-IDF")
    url = f"/v1/customers/{customer_id}"
    await hub.command("PATCH", url, {"region": "BE"}, headers=USER)
    created_at = (await hub.ok(f"{url}/history"))["items"][-1]["time"]
    then = await hub.ok(url, as_of=created_at)
    assert then["region"] == "FR-IDF" and then["version"] == 1 and then["as_of"] == created_at
    assert (await hub.ok(url))["region"] == "BE"
    assert_problem(await hub.read(url, as_of="2000-01-01T00:00:00Z"), 404)


async def test_anonymised_customer_reads_back_without_personal_data(hub: Hub) -> None:
    customer_id = await hub.create("Élodie Dubois", email="elodie@dubois.example")
    url = f"/v1/customers/{customer_id}"
    await hub.command("POST", f"{url}/anonymise")
    customer = await hub.ok(url)
    assert customer["status"] == "anonymised"
    assert customer["name"] is None and customer["email"] is None
    assert await hub.names(q="elodie") == []
    history = await hub.ok(f"{url}/history")
    created = history["items"][-1]
    assert created["personal_data_erased"] is True and created["changes"]["name"] is None


async def test_deleted_customer_is_410_and_unknown_is_404(hub: Hub) -> None:
    customer_id = await hub.create("Boulangerie Martin")
    await hub.command("DELETE", f"/v1/customers/{customer_id}")
    body = assert_problem(await hub.read(f"/v1/customers/{customer_id}"), 410)
    assert body["type"].endswith("customer-deleted")
    assert_problem(await hub.read(f"/v1/customers/{uuid4()}"), 404)
    assert_problem(await hub.read(f"/v1/customers/{uuid4()}/history"), 404)


async def test_duplicates_finds_a_near_duplicate(hub: Hub) -> None:
    ids = await three_customers(hub)
    found = await hub.ok("/v1/customers/duplicates", name="Boulangeri Martin")
    assert [candidate["customer_id"] for candidate in found["items"]] == [ids["martin"]]
    assert found["items"][0]["reasons"] == ["similar_name"]
    by_contact = await hub.ok(
        "/v1/customers/duplicates", email="ELODIE@dubois.example", phone="+33 4 72 00 00 00"
    )
    scores = {c["customer_id"]: c["score"] for c in by_contact["items"]}
    assert scores == {ids["elodie"]: 0.9, ids["garage"]: 0.8}
    assert_problem(await hub.read("/v1/customers/duplicates"), 422)


async def test_a_write_is_visible_to_the_next_read_that_asks_for_its_position(hub: Hub) -> None:
    for number in range(3):
        customer_id = await hub.create(f"Client {number}")
        response = await hub.read(f"/v1/customers/{customer_id}")  # checks the position header
        assert response.status_code == 200, response.text


async def test_a_position_the_read_model_does_not_reach_in_time_is_503(
    hub: Hub, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hub.create("Boulangerie Martin")

    async def far_ahead() -> int:  # the log has that position; the read model lags behind
        return hub.position + 10_000

    monkeypatch.setattr(app.state.customer_query, "head", far_ahead)
    response = await hub.http.get(
        "/v1/customers", params={"min_position": hub.position + 1000}, headers=USER
    )
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert int(response.headers[POSITION]) >= hub.position


@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        ("/v1/customers", {"limit": 0}, 422),
        ("/v1/customers", {"limit": 1000}, 422),
        ("/v1/customers", {"sort": "email"}, 422),
        ("/v1/customers", {"status": "gone"}, 422),
        ("/v1/customers", {"cursor": "garbage!"}, 400),
        ("/v1/customers", {"min_position": -1}, 422),
        ("/v1/customers/not-a-uuid", {}, 422),
        (f"/v1/customers/{uuid4()}", {"as_of": "yesterday"}, 422),
        (f"/v1/customers/{uuid4()}", {"as_of": "2026-03-03T12:00:00"}, 422),
        (f"/v1/customers/{uuid4()}/history", {"limit": 201}, 422),
        (f"/v1/customers/{uuid4()}/history", {"before": -1}, 422),
    ],
)
async def test_bad_input_is_a_problem_never_a_500(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], status: int
) -> None:
    assert_problem(await client.get(url, params=params, headers=USER), status)


async def test_a_bad_min_position_header_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers", headers={**USER, "X-Min-Position": "soon"})
    assert_problem(response, 400)


async def test_reading_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/customers"), 401)
    assert_problem(await client.get(f"/v1/customers/{uuid4()}/history"), 401)


async def test_the_query_service_runs_on_its_own(settings: Settings) -> None:
    """Standalone it reads what a projector (running elsewhere) has built."""
    writer = create_app(settings)
    async with (
        writer.router.lifespan_context(writer),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=writer), base_url="http://hub") as http,
    ):
        hub = Hub(http)
        customer_id = await hub.create("Boulangerie Martin")
        await hub.ok(f"/v1/customers/{customer_id}")
    reader = customer_query.create_app(settings)
    async with (
        reader.router.lifespan_context(reader),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=reader), base_url="http://query"
        ) as http,
    ):
        response = await http.get(f"/v1/customers/{customer_id}", headers=USER)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "Boulangerie Martin"
