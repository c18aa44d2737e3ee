"""The console as a process of its own (the distributed modes): it calls the services over HTTP,
here a real embedded server, and keeps nothing itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from customerhub_shared.settings import Settings
from tests.e2e.conftest import SECRET
from tests.support.processes import embedded_server
from web_console.api import service_of
from web_console.bootstrap import create_app
from web_console.settings import ConsoleSettings

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_each_route_goes_to_the_service_that_answers_it() -> None:
    assert service_of("GET", "/v1/customers") == "query"
    assert service_of("GET", "/v1/customers/1/history") == "query"
    assert service_of("POST", "/v1/customers/1/contacts") == "command"
    assert service_of("POST", "/v1/customers/1/equipment") == "command"
    assert service_of("POST", "/v1/customers/bulk") == "command"
    assert service_of("POST", "/v1/imports") == "command"
    assert service_of("GET", "/v1/equipment") == "equipment"
    assert service_of("POST", "/v1/notifications") == "notifications"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    with embedded_server(tmp_path / "var", SECRET) as (base, _process):
        settings = Settings(jwt_secret=SECRET, data_dir=tmp_path / "console")
        services = ("command", "query", "equipment", "notifications")
        urls = {f"console_{name}_url": base for name in services}
        app = create_app(settings, ConsoleSettings(console_dev_sign_in=True, **urls))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
                yield http


async def test_the_console_on_its_own_signs_in_creates_and_lists_over_http(
    console: httpx.AsyncClient,
) -> None:
    page = await console.get("/console/sign-in")
    assert "For development only" in page.text
    csrf = CSRF.search(page.text)
    assert csrf is not None
    signed_in = await console.post(
        "/console/sign-in", data={"csrf": csrf[1], "name": "alice", "role": "admin"}
    )
    assert signed_in.status_code == 303
    created = await console.post(
        "/console/customers/new",
        data={
            "csrf": csrf[1],
            "name": "Atelier Réseau",
            "kind": "company",
            "role_customer": "on",
            "main_location.city": "Lyon",
        },
    )
    assert created.status_code == 303, created.text
    shown = await console.get(created.headers["location"])
    assert shown.status_code == 200 and "Atelier Réseau" in shown.text
    listed = await console.get("/console/customers", params={"q": "atelier"})
    assert "Atelier Réseau" in listed.text
    assert (await console.get("/health/ready")).status_code == 200


async def test_without_a_setting_the_console_offers_no_development_sign_in(
    tmp_path: Path,
) -> None:
    app = create_app(
        Settings(jwt_secret=SECRET, data_dir=tmp_path),
        ConsoleSettings(console_command_url="http://127.0.0.1:9"),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
            page = await http.get("/console/sign-in")
            assert "Development sign-in" not in page.text
            csrf = CSRF.search(page.text)
            assert csrf is not None
            refused = await http.post(
                "/console/sign-in", data={"csrf": csrf[1], "name": "mallory", "role": "admin"}
            )
            assert refused.status_code == 404
            assert "customerhub_session" not in refused.headers.get("set-cookie", "")
