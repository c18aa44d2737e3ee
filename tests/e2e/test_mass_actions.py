"""`POST /v1/customers/bulk` over HTTP: each id its own command, one outcome per id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx

from tests.e2e.conftest import ADMIN, USER

BULK = "/v1/customers/bulk"


async def bulk(
    client: httpx.AsyncClient, action: str, ids: list[str], headers: dict[str, str], **params: Any
) -> httpx.Response:
    body = {"action": action, "ids": ids, "params": params}
    return await client.post(BULK, json=body, headers=headers)


async def test_convert_runs_for_each_id_and_one_refusal_does_not_stop_the_others(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    prospect = (await create("Boulangerie Martin"))["id"]
    customer = (await create("Garage Martinez", roles=["customer"]))["id"]
    other_prospect = (await create("Fromagerie Leroy"))["id"]
    unknown = str(uuid4())

    response = await bulk(
        client, "convert-to-customer", [prospect, customer, unknown, other_prospect], ADMIN
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["succeeded"], answer["refused"]) == (2, 2)
    outcomes = {item["id"]: item for item in answer["items"]}
    assert [item["id"] for item in answer["items"]] == [prospect, customer, unknown, other_prospect]
    assert outcomes[prospect]["outcome"] == "ok" and outcomes[prospect]["version"] == 2
    assert outcomes[other_prospect]["outcome"] == "ok"
    assert outcomes[customer]["problem"]["status"] == 409
    assert outcomes[customer]["problem"]["type"].endswith("not-a-prospect")
    assert outcomes[unknown]["problem"]["status"] == 404
    again = await bulk(client, "convert-to-customer", [prospect], ADMIN)
    assert again.json()["items"][0]["problem"]["status"] == 409


async def test_archive_and_convert_need_an_admin_labels_and_employees_a_user(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    martin = (await create("Boulangerie Martin"))["id"]
    for action in ("archive", "convert-to-customer"):
        refused = await bulk(client, action, [martin], USER)
        assert refused.status_code == 403, refused.text
    labelled = await bulk(client, "add-label", [martin], USER, label="  hiver ")
    assert labelled.status_code == 200 and labelled.json()["items"][0]["outcome"] == "ok"
    assigned = await bulk(client, "assign-employee", [martin], USER, employee_id="tech-7")
    assert assigned.json()["items"][0]["version"] == 3
    archived = await bulk(client, "archive", [martin, martin], ADMIN, reason="closed")
    assert [item["outcome"] for item in archived.json()["items"]] == ["ok"]
    reactivated = await bulk(client, "reactivate", [martin], USER)
    assert reactivated.json()["items"][0]["version"] == 5
    removed = await bulk(client, "remove-label", [martin], USER, label="hiver")
    unassigned = await bulk(client, "unassign-employee", [martin], USER, employee_id="tech-7")
    assert removed.json()["items"][0]["version"] == 6
    assert unassigned.json()["items"][0]["version"] == 7


async def test_a_refused_customer_gets_its_problem_and_the_rest_are_labelled(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    kept = (await create("Boulangerie Martin"))["id"]
    forgotten = (await create("Élodie Dubois", kind="person"))["id"]
    erased = await client.post(f"/v1/customers/{forgotten}/anonymise", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    answer = (await bulk(client, "add-label", [forgotten, kept], USER, label="vip")).json()
    assert [item["outcome"] for item in answer["items"]] == ["refused", "ok"]
    assert answer["items"][0]["problem"]["type"].endswith("customer-was-anonymised")


async def test_a_bad_bulk_request_is_422_and_changes_nothing(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    created = await create("Boulangerie Martin")
    martin = created["id"]
    no_label = await bulk(client, "add-label", [martin], USER)
    too_many = await bulk(client, "reactivate", [str(uuid4()) for _ in range(1001)], USER)
    unknown_action = await bulk(client, "delete", [martin], ADMIN)
    for response in (no_label, too_many, unknown_action):
        assert response.status_code == 422, response.text
    fresh = {**USER, "X-Min-Position": str(created["position"])}
    customer = await client.get(f"/v1/customers/{martin}", headers=fresh)
    assert customer.json()["version"] == 1
