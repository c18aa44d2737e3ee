"""customer-command over HTTP, as outside clients use it (DESIGN.md's HTTP contract)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import ADMIN, USER, new_customer
from tests.e2e.office import assert_problem, lose_the_next_answer


async def stream_length(app: FastAPI, customer_id: str) -> int:
    store = app.state.customer_command.ports.customers.writer.store
    return int(await store.stream_version(f"customer-{customer_id}"))


async def test_create_answers_201_with_id_version_and_position(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/customers", json=new_customer(), headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert uuid.UUID(body["id"])
    assert body["version"] == 1
    assert isinstance(body["position"], int) and body["position"] > 0
    assert body["customer_number"].startswith("C")
    assert response.headers["location"] == f"/v1/customers/{body['id']}"
    assert response.headers["etag"] == '"1"'


async def test_contact_is_added_with_its_id(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    response = await client.post(
        f"/v1/customers/{customer['id']}/contacts",
        json={
            "name": "Claire Martin",
            "email": "claire@martin.example",
            "phone": "+33 6 00 00 00 00",
            "main": True,
            "notify": {"email": True, "sms": False},
        },
        headers=USER,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == customer["id"] and body["version"] >= 2
    assert uuid.UUID(body["contact_id"])
    assert body["position"] > customer["position"]


async def test_no_token_is_401_and_a_user_cannot_create(client: httpx.AsyncClient) -> None:
    anonymous = await client.post("/v1/customers", json=new_customer())
    assert_problem(anonymous, 401)
    assert anonymous.headers["www-authenticate"].lower().startswith("bearer")
    assert_problem(await client.post("/v1/customers", json=new_customer(), headers=USER), 403)


async def test_bad_input_is_a_problem_and_stores_nothing(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    customer = await create()
    url = f"/v1/customers/{customer['id']}"
    bad_bodies: list[Any] = [
        {"name": 42},
        {"unknown_field": "x"},
        {"name": "x" * 5000},
        {"email": "not-an-email"},
        {"phone": "12"},
        {"discount_percent": 250},
        {},
        ["not", "an", "object"],
    ]
    for bad in bad_bodies:
        assert_problem(await client.patch(url, json=bad, headers=USER), 422)
    broken_json = await client.patch(
        url, content=b"{not json", headers={**USER, "content-type": "application/json"}
    )
    assert broken_json.status_code in (400, 422)
    assert_problem(
        await client.patch("/v1/customers/not-a-uuid", json={"region": "BE"}, headers=USER), 422
    )
    assert await stream_length(app, customer["id"]) == 1


async def test_unknown_customer_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        f"/v1/customers/{uuid.uuid4()}", json={"region": "BE"}, headers=USER
    )
    assert_problem(response, 404)


async def test_if_match_stale_is_412_and_current_applies(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    customer = await create()
    url = f"/v1/customers/{customer['id']}"
    ok = await client.patch(url, json={"region": "BE"}, headers={**USER, "If-Match": "1"})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = await client.patch(url, json={"region": "DE"}, headers={**USER, "If-Match": "1"})
    assert assert_problem(stale, 412)["current_version"] == 2
    assert_problem(
        await client.patch(url, json={"region": "DE"}, headers={**USER, "If-Match": "soon"}), 400
    )
    assert await stream_length(app, customer["id"]) == 2


async def test_retry_with_idempotency_key_returns_the_first_answer_and_appends_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = {**ADMIN, "Idempotency-Key": "create-martin-1"}
    first = await client.post("/v1/customers", json=new_customer(), headers=headers)
    again = await client.post("/v1/customers", json=new_customer(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await stream_length(app, first.json()["id"]) == 1
    other = await client.post("/v1/customers", json=new_customer("Autre"), headers=headers)
    assert_problem(other, 422)


async def test_a_retry_after_an_unanswered_create_answers_from_the_stream(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The first attempt appended, then the process lost its answer (as a crash would): the
    retry finds the customer's stream begun by it, and answers as the first would have."""
    lose_the_next_answer(app)
    headers = {**ADMIN, "Idempotency-Key": "create-lost-1"}
    with pytest.raises(ConnectionResetError):
        await client.post("/v1/customers", json=new_customer(), headers=headers)
    retry = await client.post("/v1/customers", json=new_customer(), headers=headers)
    assert retry.status_code == 201, retry.text
    answer = retry.json()
    assert (answer["version"], answer["customer_number"]) == (1, "C10001")
    assert await stream_length(app, answer["id"]) == 1


async def test_main_contact_cannot_be_removed_while_main(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    added = await client.post(
        f"/v1/customers/{customer['id']}/contacts",
        json={"name": "Claire", "main": True},
        headers=USER,
    )
    contact = f"/v1/customers/{customer['id']}/contacts/{added.json()['contact_id']}"
    refused = assert_problem(await client.delete(contact, headers=USER), 409)
    assert refused["type"].endswith("main-contact-cannot-be-removed")
    unset = await client.patch(contact, json={"main": False}, headers=USER)
    assert unset.status_code == 200, unset.text
    assert (await client.delete(contact, headers=USER)).status_code == 200


async def test_prospect_converts_once_and_never_back(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    url = f"/v1/customers/{customer['id']}/convert-to-customer"
    assert (await client.post(url, headers=USER)).status_code == 200
    assert_problem(await client.post(url, headers=USER), 409)
    supplier = await client.post(
        f"/v1/customers/{customer['id']}/roles", json={"role": "supplier"}, headers=USER
    )
    assert supplier.status_code == 200


async def test_two_concurrent_creates_of_one_name_cannot_both_win(
    client: httpx.AsyncClient,
) -> None:
    answers = await asyncio.gather(
        *(
            client.post("/v1/customers", json=new_customer("Garage Dupont"), headers=ADMIN)
            for _ in range(8)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * 7
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["type"].endswith("name-taken")


async def test_twenty_concurrent_creates_of_one_name_amid_others_leave_one_holder(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Appends waiting together commit together: the name's losers must not fail the others.
    contested = [new_customer("Boulangerie Lefèvre") for _ in range(20)]
    others = [new_customer(f"Fromagerie {uuid.uuid4().hex[:8]}") for _ in range(20)]
    bodies = [body for pair in zip(contested, others, strict=True) for body in pair]
    answers = await asyncio.gather(
        *(client.post("/v1/customers", json=body, headers=ADMIN) for body in bodies)
    )
    contested_statuses = sorted(answer.status_code for answer in answers[0::2])
    assert contested_statuses == [201] + [409] * 19
    assert all(answer.status_code == 201 for answer in answers[1::2])
    created = [answer.json() for answer in answers if answer.status_code == 201]
    for body in created:
        assert await stream_length(app, body["id"]) == 1
    assert len({body["position"] for body in created}) == 21


async def test_names_are_unique_ignoring_case_and_accents(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    await create("Café Étoile")
    again = await client.post("/v1/customers", json=new_customer("CAFE  etoile"), headers=ADMIN)
    assert_problem(again, 409)


async def test_archiving_frees_the_name_for_a_new_customer(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    first = await create("Plomberie Durand")
    archived = await client.post(
        f"/v1/customers/{first['id']}/archive", json={"reason": "closed"}, headers=USER
    )
    assert archived.status_code == 200
    await create("Plomberie Durand")
    back = await client.post(f"/v1/customers/{first['id']}/reactivate", headers=USER)
    assert_problem(back, 409)


async def test_merged_customer_refuses_further_commands(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    survivor = await create("Martin SA")
    duplicate = await create("Martin S.A. ERRONÉ")
    await client.post(
        f"/v1/customers/{duplicate['id']}/contacts",
        json={"name": "Paul", "email": "paul@martin.example"},
        headers=USER,
    )
    merged = await client.post(
        f"/v1/customers/{survivor['id']}/merge",
        json={"duplicate_ids": [duplicate["id"]]},
        headers=ADMIN,
    )
    assert merged.status_code == 200, merged.text
    refused = await client.patch(
        f"/v1/customers/{duplicate['id']}", json={"region": "BE"}, headers=USER
    )
    assert assert_problem(refused, 409)["merged_into"] == survivor["id"]
    user_merge = await client.post(
        f"/v1/customers/{survivor['id']}/merge",
        json={"duplicate_ids": [str(uuid.uuid4())]},
        headers=USER,
    )
    assert_problem(user_merge, 403)


async def test_anonymised_customer_history_keeps_events_but_not_personal_data(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    customer = await create("Jean Dupuis", kind="person")
    answer = await client.post(f"/v1/customers/{customer['id']}/anonymise", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert_problem(
        await client.patch(f"/v1/customers/{customer['id']}", json={"region": "BE"}, headers=USER),
        409,
    )
    writer = app.state.customer_command.ports.customers.writer
    history = await writer.read(f"customer-{customer['id']}", key_subject=uuid.UUID(customer["id"]))
    assert [e.event_type.split(".")[2] for e in history] == ["created", "anonymised"]
    assert history[0].personal_data_erased and history[0].event.name is None
    raw = await writer.store.read_stream(f"customer-{customer['id']}")
    assert b"Dupuis" not in raw[0].data
    await create("Jean Dupuis", kind="person")


async def test_delete_is_refused_while_a_document_is_linked(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    url = f"/v1/customers/{customer['id']}"
    linked = await client.post(
        f"{url}/documents",
        json={"document_id": "INV-2026-001", "document_type": "invoice"},
        headers=USER,
    )
    assert linked.status_code == 201, linked.text
    assert_problem(await client.delete(url, headers=ADMIN), 409)
    assert (await client.delete(f"{url}/documents/INV-2026-001", headers=USER)).status_code == 200
    assert (await client.delete(url, headers=ADMIN)).status_code == 200
    assert_problem(await client.patch(url, json={"region": "BE"}, headers=USER), 410)


async def test_every_event_records_the_actor(
    client: httpx.AsyncClient, app: FastAPI, create: Callable[..., Any]
) -> None:
    customer = await create()
    await client.put(f"/v1/customers/{customer['id']}/labels/gold", headers=USER)
    writer = app.state.customer_command.ports.customers.writer
    history = await writer.read(f"customer-{customer['id']}")
    assert [e.metadata.actor for e in history] == ["alice", "bob"]
    assert all(e.metadata.correlation_id for e in history)


async def test_openapi_lists_the_commands_and_schemas_are_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/customers",
        "/v1/customers/{customer_id}/contacts",
        "/v1/customers/{customer_id}/merge",
        "/v1/customers/{customer_id}/anonymise",
        "/v1/customers/{customer_id}/locations/{location_id}/make-main",
    ):
        assert path in paths
    schemas = (await client.get("/v1/events/schemas")).json()
    assert "customerhub.customer.created.v1" in schemas
