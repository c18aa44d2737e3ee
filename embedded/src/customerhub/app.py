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
from customerhub.directory import ReadModelDirectory
from customerhub.followers import embedded_followers
from customerhub.timeline import SentDeliveries
from customerhub_shared.checkpoints import open_checkpoint_store
from customerhub_shared.consumers import following, runner
from customerhub_shared.http import parked as parked_events
from customerhub_shared.http.health import observe
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import open_read_store
from customerhub_shared.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serve_infrastructure(app, settings) as infra:
            read_store = await open_read_store(settings)
            checkpoints = await open_checkpoint_store(settings)
            try:
                async with parked_events.serving(app, settings) as consumers:
                    parked = consumers.parked
                    customers = customer_query.attach(app, infra, read_store, settings)
                    items, reconciler = write_side.attach(
                        app,
                        infra,
                        read_store,
                        checkpoints,
                        settings,
                        query=app.state.customer_query,
                    )
                    notifier = notifications.attach(app, infra, read_store, settings, parked=parked)
                    app.state.customer_query.notifications = SentDeliveries(notifier.service.store)
                    observe(
                        app,
                        infra,
                        settings,
                        read_store=read_store,
                        checkpoints=checkpoints,
                        followers=embedded_followers(read_store, checkpoints, settings),
                    )
                    events = infra.event_store
                    runners = [
                        runner(customers, settings, events=events, parked=parked),
                        runner(items, settings, events=events, parked=parked),
                        equipment.reconciler_runner(
                            reconciler,
                            events,
                            batch_size=settings.projector_batch_size,
                            parked=parked,
                            max_attempts=settings.consumer_max_attempts,
                        ),
                    ]
                    consumers.add(*runners, notifier.runner)
                    directory = ReadModelDirectory(app.state.customer_query)
                    async with (
                        following(runners, on_stop=reconciler.wake),
                        notifier.running(),
                        customer_command.importing(app, settings, directory),
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
    app.include_router(parked_events.router)
    return app
