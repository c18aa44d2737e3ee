"""What the embedded app's e2e suites share: their settings on either read store, problem
answers, and an office client that reads its own writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER, new_customer

PROBLEM = "application/problem+json"


def read_store_settings(
    request: pytest.FixtureRequest, tmp_path: Path, *, freshness: float
) -> Settings:
    """The embedded default, or (param "mongodb") its read model in MongoDB (FerretDB here)."""
    extra: dict[str, Any] = {}
    if request.param == "mongodb":
        extra = {
            "read_store": "mongodb",
            "mongodb_url": request.getfixturevalue("mongodb_url"),
            "mongodb_database": request.getfixturevalue("mongodb_database"),
        }
    return Settings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        log_level="WARNING",
        freshness_timeout_seconds=freshness,
        **extra,
    )


def lose_the_next_answer(app: FastAPI) -> None:
    """The next command's first attempt is carried out and its answer stored, then lost on
    the way out (as a crash would lose it); later attempts are answered as usual."""
    store = app.state.customer_command.idempotency
    answered_once = store.first_answer

    async def lost(scope: str, key: str, fingerprint: str, answer: Any) -> Any:
        store.first_answer = answered_once
        await answer()
        raise ConnectionResetError("the answer never left")

    store.first_answer = lost


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"]
    return body


class Office:
    """Writes with commands and reads its own writes (X-Min-Position)."""

    def __init__(self, http: httpx.AsyncClient, **defaults: Any) -> None:
        self.http = http
        self.position = 0
        self.defaults = {"internal_name": None, "labels": []} | defaults

    async def command(
        self, method: str, url: str, body: Any = None, *, headers: dict[str, str] = ADMIN
    ) -> dict[str, Any]:
        response = await self.http.request(method, url, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        self.position = max(self.position, answer["position"] or 0)
        return answer

    async def create(self, name: str, **fields: Any) -> str:
        body = new_customer(name, **self.defaults | fields)
        return str((await self.command("POST", "/v1/customers", body))["id"])

    async def read(self, url: str, **params: Any) -> httpx.Response:
        headers = {**USER, "X-Min-Position": str(self.position)}
        return await self.http.get(url, params=params, headers=headers)

    async def ok(self, url: str, **params: Any) -> Any:
        response = await self.read(url, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def names(self, **params: Any) -> list[str]:
        return [c["name"] for c in (await self.ok("/v1/customers", **params))["items"]]
