"""The embedded default: every service mounted in one process, on one port, over SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
import equipment.bootstrap as equipment
import notifications.bootstrap as notifications
import web_console.bootstrap as web_console
from customerhub import write_side
from customerhub.followers import embedded_followers
from customerhub.timeline import SentDeliveries
from customerhub_shared.checkpoints import open_checkpoint_store
from customerhub_shared.consumers import running
from customerhub_shared.http import parked as parked_events
from customerhub_shared.http.health import observe
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import open_read_store
from customerhub_shared.settings import Settings, load_settings
from equipment.domain.view import EquipmentView
from web_console.settings import ConsoleSettings, load_console_settings


def create_app(
    settings: Settings | None = None, console_settings: ConsoleSettings | None = None
) -> FastAPI:
    settings = settings or load_settings()
    console_settings = console_settings or load_console_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serve_infrastructure(app, settings) as infra:
            read_store = await open_read_store(settings)
            checkpoints = await open_checkpoint_store(settings)
            try:
                async with parked_events.serving(app, settings) as consumers:
                    parked = consumers.parked
                    # customer-query first: the write side's duplicate check follows its projector.
                    customers = customer_query.attach(
                        app, infra, read_store, settings, parked=parked
                    )
                    services = [
                        customers,
                        write_side.attach(
                            app,
                            infra,
                            read_store,
                            checkpoints,
                            settings,
                            parked=parked,
                            equipment_read_model=True,
                            query=app.state.customer_query,
                        ),
                        notifications.attach(app, infra, read_store, settings, parked=parked),
                        web_console.attach(
                            app,
                            settings,
                            console_settings,
                            web_console.embedded_api(app, console_settings),
                        ),
                    ]
                    app.state.customer_query.notifications = SentDeliveries(
                        app.state.notifications.store
                    )
                    app.state.customer_query.read_models += (EquipmentView.name,)
                    observe(
                        app,
                        infra,
                        settings,
                        read_store=read_store,
                        checkpoints=checkpoints,
                        followers=embedded_followers(read_store, checkpoints, settings),
                    )
                    async with running(consumers, *services):
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
    app.include_router(parked_events.router)
    web_console.install(app)
    return app
