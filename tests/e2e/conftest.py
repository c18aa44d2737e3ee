"""The embedded app over HTTP (in-process ASGI), with tokens minted like the CLI does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from customerhub.app import create_app
from customerhub_shared.http.auth import mint_token
from customerhub_shared.settings import Settings

SECRET = "test-secret-for-e2e-only-0123456789"


def token(sub: str = "alice", roles: tuple[str, ...] = ("admin",)) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, sub=sub, roles=list(roles))}"}


ADMIN = token("alice", ("admin",))
USER = token("bob", ("user",))


def new_customer(name: str = "Boulangerie Martin", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "company",
        "name": name,
        "internal_name": "Martin Nord",
        "region": "FR-IDF",
        "language": "fr",
        "roles": ["prospect"],
        "labels": ["vip"],
        "email": "contact@martin.example",
        "phone": "+33 1 40 00 00 00",
        "main_location": {
            "street": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "FR",
        },
    }
    body.update(overrides)
    return body


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The same HTTP behaviour on the embedded SQLite store and on a real PostgreSQL."""
    if request.param == "postgres":
        return Settings(
            data_dir=tmp_path,
            jwt_secret=SECRET,
            log_level="WARNING",
            event_store="postgres",
            postgres_dsn=request.getfixturevalue("fresh_postgres_dsn"),
        )
    return Settings(data_dir=tmp_path, jwt_secret=SECRET, log_level="WARNING")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://customerhub") as http:
        yield http


@pytest.fixture
def create(client: httpx.AsyncClient) -> Callable[..., Any]:
    async def make(name: str = "Boulangerie Martin", **overrides: Any) -> dict[str, Any]:
        response = await client.post(
            "/v1/customers", json=new_customer(name, **overrides), headers=ADMIN
        )
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    return make
