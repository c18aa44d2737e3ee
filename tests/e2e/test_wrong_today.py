"""Issue 15's "wrong today": each rule the seeds ask for that the API broke, over HTTP.

The embedded app (commands, queries, notifications in one process), on the SQLite read
store and on MongoDB (FerretDB here) where the list's filters run in the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from customerhub.app import create_app
from customerhub_shared.settings import Settings
from tests.e2e.conftest import USER, new_customer
from tests.e2e.office import Office, assert_problem, read_store_settings


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return read_store_settings(request, tmp_path, freshness=5.0)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def office(app: FastAPI) -> AsyncIterator[Office]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://customerhub") as http:
        yield Office(http, email=None)


# 1 -------------------------------------------------------------------------------------------


async def test_archived_and_anonymised_customers_are_hidden_from_the_list_unless_asked(
    office: Office,
) -> None:
    await office.create("Boulangerie Martin")
    archived = await office.create("Garage Fermé")
    anonymised = await office.create("Élodie Dubois", kind="person")
    await office.command("POST", f"/v1/customers/{archived}/archive", headers=USER)
    await office.command("POST", f"/v1/customers/{anonymised}/anonymise")

    assert await office.names() == ["Boulangerie Martin"]
    assert await office.names(status="archived") == ["Garage Fermé"]
    assert await office.names(include="archived") == ["Boulangerie Martin", "Garage Fermé"]
    everyone = await office.ok("/v1/customers", include=["archived", "anonymised"])
    assert len(everyone["items"]) == 3


# 2 -------------------------------------------------------------------------------------------


async def test_the_list_filters_by_segment_kind_employee_labels_and_language(
    office: Office,
) -> None:
    dealer = await office.create("Martin Négoce", segment="dealer", labels=["vip"])
    await office.create("Paul Dealer", kind="person", segment="dealer", language="de")
    await office.create("Élodie Dubois", kind="person", labels=["bio"], language="de")
    await office.create("Atelier Sans Label", language="en")
    await office.command("PUT", f"/v1/customers/{dealer}/employees/tech-7", headers=USER)

    assert await office.names(segment="dealer", kind="person") == ["Paul Dealer"]
    assert await office.names(segment="dealer") == ["Martin Négoce", "Paul Dealer"]
    assert await office.names(employee="tech-7") == ["Martin Négoce"]
    assert await office.names(label=["vip", "bio"]) == ["Élodie Dubois", "Martin Négoce"]
    assert await office.names(language="de") == ["Élodie Dubois", "Paul Dealer"]
    assert await office.names(kind="person", language="de", label="bio") == ["Élodie Dubois"]


async def test_an_unknown_query_parameter_is_422_not_an_unfiltered_list(office: Office) -> None:
    await office.create("Boulangerie Martin")
    problem = assert_problem(await office.read("/v1/customers", segmnet="dealer"), 422)
    assert problem["errors"][0]["loc"] == ["query", "segmnet"]
    assert_problem(await office.read("/v1/customers", segment="wholesaler"), 422)


# 3 -------------------------------------------------------------------------------------------


async def test_a_relation_to_a_customer_that_does_not_exist_is_refused(office: Office) -> None:
    holding = await office.create("Holding Martin")
    response = await office.http.post(
        f"/v1/customers/{holding}/relations",
        json={"other_customer_id": str(uuid4()), "relation": "parent"},
        headers=USER,
    )
    assert_problem(response, 422)
    customer = await office.ok(f"/v1/customers/{holding}")
    assert customer["relations"] == [] and customer["version"] == 1


async def test_parent_and_child_show_on_both_sides_and_leave_both_sides(office: Office) -> None:
    holding = await office.create("Holding Martin")
    shop = await office.create("Boulangerie Martin Nord")
    url = f"/v1/customers/{holding}/relations"
    await office.command("POST", url, {"other_customer_id": shop, "relation": "parent"})

    parent_side = await office.ok(f"/v1/customers/{holding}")
    child_side = await office.ok(f"/v1/customers/{shop}")
    assert parent_side["relations"] == [{"customer_id": shop, "relation": "parent"}]
    assert child_side["relations"] == [{"customer_id": holding, "relation": "child"}]

    await office.command("DELETE", f"{url}/{shop}")
    assert (await office.ok(f"/v1/customers/{shop}"))["relations"] == []


# 4 -------------------------------------------------------------------------------------------


async def test_merge_keeps_the_duplicates_assigned_employees(office: Office) -> None:
    survivor = await office.create("Boulangerie Martin")
    duplicate = await office.create("Boulangerie Martin (doublon)")
    await office.command("PUT", f"/v1/customers/{survivor}/employees/tech-1", headers=USER)
    await office.command("PUT", f"/v1/customers/{duplicate}/employees/tech-2", headers=USER)
    await office.command("POST", f"/v1/customers/{survivor}/merge", {"duplicate_ids": [duplicate]})
    assert (await office.ok(f"/v1/customers/{survivor}"))["employees"] == ["tech-1", "tech-2"]


# 5 -------------------------------------------------------------------------------------------


async def test_a_notification_right_after_adding_a_contact_reaches_that_contact(
    office: Office,
) -> None:
    customer = await office.create("Boulangerie Martin")
    added = await office.command(
        "POST",
        f"/v1/customers/{customer}/contacts",
        {"name": "Claire Martin", "phone": "+33 6 12 34 56 78", "notify": {"sms": True}},
        headers=USER,
    )
    body = {
        "customer_id": customer,
        "template": "technician_en_route",
        "params": {"technician": "Marc", "eta": "10:30"},
    }
    response = await office.http.post("/v1/notifications", json=body, headers=USER)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert [d["contact_id"] for d in answer["deliveries"]] == [added["contact_id"]]
    assert answer["nothing_to_deliver"] is None


async def test_a_notification_with_nothing_to_deliver_says_why(office: Office) -> None:
    customer = await office.create("Boulangerie Martin")
    body = {
        "customer_id": customer,
        "template": "technician_en_route",
        "params": {"technician": "Marc", "eta": "10:30"},
    }
    response = await office.http.post("/v1/notifications", json=body, headers=USER)
    assert response.status_code == 202, response.text
    assert response.json()["deliveries"] == []
    assert response.json()["nothing_to_deliver"] == "the customer has no contacts"

    await office.command(
        "POST", f"/v1/customers/{customer}/contacts", {"name": "Claire Martin"}, headers=USER
    )
    response = await office.http.post("/v1/notifications", json=body, headers=USER)
    assert "opted in" in response.json()["nothing_to_deliver"]


# 6 -------------------------------------------------------------------------------------------


async def test_creating_a_likely_duplicate_answers_who_it_may_duplicate(office: Office) -> None:
    martin = await office.create("Boulangerie Martin", email="contact@martin.example", phone=None)
    fresh = await office.command(
        "POST", "/v1/customers", new_customer("Fromagerie Leroy", email=None, phone=None)
    )
    assert fresh["possible_duplicates"] == []

    similar = await office.command(
        "POST", "/v1/customers", new_customer("Boulangerie Martin Frères", email=None, phone=None)
    )
    [candidate] = similar["possible_duplicates"]
    assert candidate["customer_id"] == martin
    assert 0.6 <= candidate["score"] < 1 and candidate["reasons"] == ["similar_name"]

    same_email = await office.command(
        "POST",
        "/v1/customers",
        new_customer("Chez Claire", email="Contact@Martin.example", phone=None),
    )
    [candidate] = same_email["possible_duplicates"]
    assert candidate == {"customer_id": martin, "score": 0.9, "reasons": ["same_email"]}
