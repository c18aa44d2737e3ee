"""The composition root of customer-query: settings and adapters in, a FastAPI app out.

Standalone, the service runs the projector that keeps its read model fresh, following the
event store, unless CUSTOMERHUB_CONSUMER_TRANSPORT=kafka: then a consumer process of its
own (entrypoints/kafka_projector.py) feeds the read model and this one only reads it.
Embedded, the embedded app runs the projector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from customer_query.adapters.customer_streams import CustomerStreams
from customer_query.domain.view import CustomerView
from customer_query.entrypoints.http import customers, export, read_models
from customer_query.entrypoints.http.service import QueryService
from customerhub_shared.consumers import Attached, ParkedStore, runner, running
from customerhub_shared.events import default_registry
from customerhub_shared.followers import projection_follower
from customerhub_shared.http import parked as parked_events
from customerhub_shared.http.health import observe
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import Infrastructure, open_read_store
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings, load_settings


def build_query_service(
    infra: Infrastructure, read_store: ReadStore, settings: Settings
) -> QueryService:
    mapper = EventMapper(default_registry())
    view = CustomerView()
    return QueryService(
        read_store=read_store,
        streams=CustomerStreams(infra.event_store, mapper, infra.keyring),
        view=view,
        projector=Projector(view, read_store, mapper, infra.keyring),
        freshness_timeout=settings.freshness_timeout_seconds,
        head=infra.event_store.head_position,
    )


def routers() -> list[APIRouter]:
    return [export.router, customers.router, read_models.router]


def attach(
    app: FastAPI,
    infra: Infrastructure,
    read_store: ReadStore,
    settings: Settings,
    *,
    parked: ParkedStore | None = None,
) -> Attached:
    """Give an app (this service's own, or the embedded one) what the routes need.

    Runs the projector that keeps the read model fresh from the log; with the Kafka transport
    a `customerhub consume customers` process does instead.
    """
    service = build_query_service(infra, read_store, settings)
    app.state.customer_query = service
    if settings.consumer_transport != "log":
        return Attached()
    events = infra.event_store
    return Attached.following_log(runner(service.projector, settings, events=events, parked=parked))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            serve_infrastructure(app, settings) as infra,
            parked_events.serving(app, settings) as consumers,
        ):
            read_store = await open_read_store(settings)
            try:
                attached = attach(app, infra, read_store, settings, parked=consumers.parked)
                followers = [projection_follower(CustomerView.name, read_store)]
                observe(app, infra, settings, read_store=read_store, followers=followers)
                async with running(consumers, attached):
                    yield
            finally:
                await read_store.close()

    app = FastAPI(title="customerhub customer-query", version="1", lifespan=lifespan)
    prepare_service_app(app, settings)
    for router in [*routers(), parked_events.router]:
        app.include_router(router)
    return app
