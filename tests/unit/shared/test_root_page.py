"""`GET /` leads a visitor to the API's docs in every service, and to the web console where
one is served (embedded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
import equipment.bootstrap as equipment
import notifications.bootstrap as notifications
from customerhub import app as embedded
from customerhub import write_side
from customerhub_shared.http.service import serve_root
from customerhub_shared.settings import Settings

FACTORIES: dict[str, Callable[[Settings], FastAPI]] = {
    "write-side": write_side.create_app,
    "customer-command": customer_command.create_app,
    "customer-query": customer_query.create_app,
    "equipment": equipment.create_app,
    "notifications": notifications.create_app,
}


async def get_root(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://customerhub") as client:
        return await client.get("/")


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_the_root_redirects_to_the_docs(service: str, tmp_path: Path) -> None:
    app = FACTORIES[service](Settings(data_dir=tmp_path, jwt_secret="s" * 32))
    answer = await get_root(app)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/docs"
    assert "/" not in app.openapi()["paths"]


async def test_the_embedded_root_leads_to_the_console_and_docs_stay_at_docs(
    tmp_path: Path,
) -> None:
    app = embedded.create_app(Settings(data_dir=tmp_path, jwt_secret="s" * 32))
    answer = await get_root(app)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/customers"
    assert "/" not in app.openapi()["paths"]
    assert app.docs_url == "/docs"


async def test_a_console_replaces_the_root(tmp_path: Path) -> None:
    app = embedded.create_app(Settings(data_dir=tmp_path, jwt_secret="s" * 32))

    async def console() -> HTMLResponse:
        return HTMLResponse("<h1>console</h1>")

    serve_root(app, console)
    answer = await get_root(app)
    assert answer.status_code == 200 and answer.text == "<h1>console</h1>"
