"""The composition root of the console: settings and an API client in, screens out.

Embedded, `install` adds the screens to the one app and `serving` calls the API in-process;
distributed, `create_app` is a process of its own calling each service's URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from customerhub_shared.consumers import Attached
from customerhub_shared.http.auth import mint_token
from customerhub_shared.http.health import install_health
from customerhub_shared.http.metrics import install_metrics
from customerhub_shared.http.service import serve_root
from customerhub_shared.settings import Settings, load_settings
from web_console.api import Api, ServiceName
from web_console.entrypoints import (
    attachments,
    contact_edit,
    customer,
    customers,
    editing,
    equipment_list,
    imports,
    lifecycle,
    location_edit,
    operations,
    registry,
    sign_in,
)
from web_console.oidc import OpenIdConnect
from web_console.screens import PREFIX, Console, Mint, install_handlers, page_environment
from web_console.settings import ConsoleSettings, load_console_settings

__all__ = ["create_app", "install", "routers", "serving"]
DEV_TOKEN_SECONDS = 12 * 3600


def routers() -> list[APIRouter]:
    return [
        sign_in.router,
        customers.router,
        editing.router,
        lifecycle.router,
        contact_edit.router,
        location_edit.router,
        customer.router,
        attachments.router,
        imports.router,
        operations.router,
        equipment_list.router,
        registry.router,
    ]


def install(app: FastAPI) -> None:
    """The screens' routes, their static files, and `/` leading to them."""
    for router in routers():
        app.include_router(router)
    app.mount(
        PREFIX + "/static",
        StaticFiles(packages=[("web_console", "static")]),
        name="console-static",
    )
    install_handlers(app)
    serve_root(app, sign_in.home)


def development_mint(settings: Settings) -> Mint:
    """Tokens as `customerhub token` makes them: HS256 with the deployment's secret."""
    secret = settings.resolved_jwt_secret()

    def mint(name: str, roles: list[str]) -> str:
        return mint_token(
            secret,
            sub=name,
            roles=roles,
            ttl_seconds=DEV_TOKEN_SECONDS,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    return mint


@asynccontextmanager
async def serving(
    app: FastAPI, settings: Settings, console_settings: ConsoleSettings, api: Api
) -> AsyncIterator[Console]:
    """For the app's life: the console's wiring on `app.state.console`."""
    allowed = console_settings.console_dev_sign_in and not settings.jwks_url
    identity = httpx.AsyncClient(timeout=console_settings.console_api_timeout_seconds)
    app.state.console = console = Console(
        api=api,
        settings=console_settings,
        pages=page_environment(),
        roles_claim=settings.jwt_roles_claim,
        mint=development_mint(settings) if allowed else None,
        oidc=OpenIdConnect(console_settings, identity) if console_settings.oidc else None,
    )
    try:
        yield console
    finally:
        await identity.aclose()
        await api.close()


def attach(
    app: FastAPI, settings: Settings, console_settings: ConsoleSettings, api: Api
) -> Attached:
    """The console in the shape every service answers: its wiring for the app's life."""
    return Attached(background=(partial(serving, app, settings, console_settings, api),))


def embedded_api(app: FastAPI, console_settings: ConsoleSettings) -> Api:
    return Api.in_process(app, console_settings.console_api_timeout_seconds)


def _service_urls(console_settings: ConsoleSettings) -> dict[ServiceName, str]:
    command = console_settings.console_command_url
    if command is None:
        raise ValueError("CUSTOMERHUB_CONSOLE_COMMAND_URL is needed for the console on its own")
    return {
        "command": command,
        "query": console_settings.console_query_url or command,
        "equipment": console_settings.console_equipment_url or command,
        "notifications": console_settings.console_notifications_url or command,
    }


class _Readiness:
    """Ready when the query service answers (the console itself keeps nothing)."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def report(self) -> tuple[bool, dict[str, Any]]:
        answer = await self._api.public("/health/live", service="query")
        outcome = "ok" if answer.ok else f"answered {answer.status}"
        return answer.ok, {
            "status": "ready" if answer.ok else "unready",
            "checks": {"query": outcome},
        }


def create_app(
    settings: Settings | None = None, console_settings: ConsoleSettings | None = None
) -> FastAPI:
    """The console as a process of its own (local cluster, compose, Kubernetes)."""
    settings = settings or load_settings()
    console_settings = console_settings or load_console_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        urls = _service_urls(console_settings)
        api = Api.over_http(urls, console_settings.console_api_timeout_seconds)
        async with serving(app, settings, console_settings, api):
            app.state.readiness = _Readiness(api)
            yield

    app = FastAPI(title="customerhub console", version="1", lifespan=lifespan, docs_url=None)
    install_health(app)
    install_metrics(app)
    install(app)
    return app
