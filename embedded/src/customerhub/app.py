"""The embedded default: every service mounted in one process, on one port, over SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import open_read_store
from customerhub_shared.projection import projectors_following
from customerhub_shared.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serve_infrastructure(app, settings) as infra:
            read_store = await open_read_store(settings)
            try:
                customer_command.attach(app, infra, settings)
                projector = customer_query.attach(app, infra, read_store, settings)
                async with projectors_following(
                    [projector], infra.event_store, batch_size=settings.projector_batch_size
                ):
                    yield
            finally:
                await read_store.close()

    app = FastAPI(
        title="customerhub",
        version="1",
        summary="The master record of a company's customers, event-sourced.",
        lifespan=lifespan,
    )
    prepare_service_app(app, settings)
    for router in [*customer_command.routers(), *customer_query.routers()]:
        app.include_router(router)
    return app
