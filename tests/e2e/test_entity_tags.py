"""Entity tags: a customer read carries `ETag: "N"`, If-Match takes it back, If-None-Match
answers 304 while it is current."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.conftest import USER


async def _read(client: httpx.AsyncClient, customer: dict[str, Any], **headers: str) -> Any:
    return await client.get(
        f"/v1/customers/{customer['id']}",
        params={"min_position": customer["position"]},
        headers={**USER, **headers},
    )


async def test_a_read_carries_the_version_as_etag_and_if_match_takes_it_back(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    read = await _read(client, customer)
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    edited = await client.patch(
        f"/v1/customers/{customer['id']}",
        json={"region": "BE"},
        headers={**USER, "If-Match": read.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == '"2"'
    stale = await client.patch(
        f"/v1/customers/{customer['id']}",
        json={"region": "DE"},
        headers={**USER, "If-Match": read.headers["ETag"]},
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["current_version"] == 2


async def test_weak_and_bare_if_match_are_accepted(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    path = f"/v1/customers/{customer['id']}"
    weak = await client.patch(path, json={"region": "BE"}, headers={**USER, "If-Match": 'W/"1"'})
    assert weak.status_code == 200, weak.text
    bare = await client.patch(path, json={"region": "DE"}, headers={**USER, "If-Match": "2"})
    assert bare.status_code == 200, bare.text
    assert bare.headers["ETag"] == '"3"'


async def test_if_none_match_answers_304_while_the_version_is_current(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    unchanged = await _read(client, customer, **{"If-None-Match": '"1"'})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == '"1"'
    assert "X-Read-Model-Position" in unchanged.headers
    edited = await client.patch(
        f"/v1/customers/{customer['id']}", json={"region": "BE"}, headers=USER
    )
    changed = await _read(client, edited.json(), **{"If-None-Match": '"1", W/"7"'})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    assert changed.json()["region"] == "BE"


async def test_an_as_of_read_is_not_answered_304(
    client: httpx.AsyncClient, create: Callable[..., Any]
) -> None:
    customer = await create()
    read = await _read(client, customer, **{"If-None-Match": "*"})
    assert read.status_code == 304
    as_of = await client.get(
        f"/v1/customers/{customer['id']}",
        params={"as_of": "2100-01-01T00:00:00Z"},
        headers={**USER, "If-None-Match": "*"},
    )
    assert as_of.status_code == 200
    assert "ETag" not in as_of.headers
