"""`POST /v1/customers` answers its declared problems, whichever handler takes the request:
the quick one (an admin, a JSON body that validates) or the declared route with its
dependencies (everything else)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import ADMIN, USER, new_customer
from tests.e2e.office import assert_problem

BAD_BODIES: list[Any] = [
    {**new_customer(), "name": 42},
    {**new_customer(), "unknown_field": "x"},
    {**new_customer(), "email": "not-an-email"},
    {},
    ["not", "an", "object"],
]


async def log_head(app: FastAPI) -> int | None:
    head: int | None = await app.state.customer_command.ports.customers.writer.store.head_position()
    return head


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_a_body_that_does_not_validate_is_fastapis_422_and_stores_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: Any
) -> None:
    before = await log_head(app)
    refused = assert_problem(await client.post("/v1/customers", json=body, headers=ADMIN), 422)
    assert refused["errors"] and all(error["loc"][0] == "body" for error in refused["errors"])
    assert await log_head(app) == before


async def test_json_sent_as_another_type_or_broken_is_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    before = await log_head(app)
    as_text = {**ADMIN, "content-type": "text/plain"}
    sent = json.dumps(new_customer("Texte")).encode()
    assert_problem(await client.post("/v1/customers", content=sent, headers=as_text), 422)
    as_json = {**ADMIN, "content-type": "application/json"}
    broken = assert_problem(
        await client.post("/v1/customers", content=b"{not json", headers=as_json), 400
    )
    assert broken["type"].endswith("malformed-body")
    assert await log_head(app) == before


async def test_who_may_create_is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/customers", json={}, headers=USER), 403)
    assert_problem(await client.post("/v1/customers", json={}), 401)
    refused = {"Authorization": "Bearer not-a-jwt"}
    assert_problem(await client.post("/v1/customers", json=new_customer(), headers=refused), 401)


@pytest.mark.parametrize("body", [new_customer("Clé"), {}])
async def test_a_bad_header_is_its_400_before_the_body_is_looked_at(
    client: httpx.AsyncClient, body: Any
) -> None:
    bad_key = {**ADMIN, "Idempotency-Key": "no spaces allowed"}
    refused = assert_problem(await client.post("/v1/customers", json=body, headers=bad_key), 400)
    assert refused["type"].endswith("bad-idempotency-key")
    bad_version = {**ADMIN, "If-Match": "soon"}
    refused = assert_problem(
        await client.post("/v1/customers", json=body, headers=bad_version), 400
    )
    assert refused["type"].endswith("bad-if-match")


async def test_json_with_a_charset_is_created(client: httpx.AsyncClient) -> None:
    headers = {**ADMIN, "content-type": "application/json; charset=utf-8"}
    sent = json.dumps(new_customer("Boulangerie Émile")).encode()
    created = await client.post("/v1/customers", content=sent, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/customers/{created.json()['id']}"
    assert created.headers["etag"] == '"1"'
