"""The embedded default: every service mounted in one process, on one port, over SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
import equipment.bootstrap as equipment
import notifications.bootstrap as notifications
from customerhub import write_side
from customerhub.timeline import SentDeliveries
from customerhub_shared.checkpoints import open_checkpoint_store
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
            checkpoints = await open_checkpoint_store(settings)
            try:
                items, reconciler = write_side.attach(app, infra, read_store, checkpoints, settings)
                customers = customer_query.attach(app, infra, read_store, settings)
                notifier = notifications.attach(app, infra, read_store, settings)
                app.state.customer_query.notifications = SentDeliveries(notifier.service.store)
                events, batch_size = infra.event_store, settings.projector_batch_size
                async with (
                    projectors_following([customers, items], events, batch_size=batch_size),
                    equipment.reconciling(reconciler, events, batch_size=batch_size),
                    notifier.running(),
                ):
                    yield
            finally:
                await checkpoints.close()
                await read_store.close()

    app = FastAPI(
        title="customerhub",
        version="1",
        summary="The master record of a company's customers, event-sourced.",
        lifespan=lifespan,
    )
    prepare_service_app(app, settings)
    for service in (customer_command, customer_query, equipment, notifications):
        for router in service.routers():
            app.include_router(router)
    return app
