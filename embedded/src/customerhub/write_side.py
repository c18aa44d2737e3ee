"""The write side of the distributed modes: customer-command and the customers' equipment routes.

DESIGN puts `POST /v1/customers/{id}/equipment` among the customer commands, while an item's
own stream decides its owner: this process serves both, the equipment registry and its read
model stay with the equipment service. It also runs the ownership reconciler, unless
CUSTOMERHUB_OWNERSHIP_RECONCILER=separate says `customerhub reconcile` runs it elsewhere (the
routes then wait on its checkpoint).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
import equipment.bootstrap as equipment
from customer_query.entrypoints.http.service import QueryService
from customerhub.directory import ReadModelDirectory
from customerhub.duplicates import ReadModelDuplicates
from customerhub.followers import write_side_followers
from customerhub_shared.checkpoints import CheckpointStore, open_checkpoint_store
from customerhub_shared.coalesced import CoalescedRead
from customerhub_shared.consumers import Attached, ParkedStore, running
from customerhub_shared.http import parked as parked_events
from customerhub_shared.http.health import observe
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import Infrastructure, open_read_store
from customerhub_shared.readstore import ReadStore
from customerhub_shared.settings import Settings, load_settings


def attach(
    app: FastAPI,
    infra: Infrastructure,
    read_store: ReadStore,
    checkpoints: CheckpointStore,
    settings: Settings,
    *,
    parked: ParkedStore | None = None,
    equipment_read_model: bool = False,
    query: QueryService | None = None,
) -> Attached:
    """Customer-command, and equipment with the customers' side: the ownership reconciler
    (unless it runs `separate`ly) and, with `equipment_read_model`, the equipment projector.
    `query`: the customer read model's service whose projector runs in this process, if one
    does (creates then know how far it is without reading its checkpoint)."""
    query = query or customer_query.build_query_service(infra, read_store, settings)
    duplicates = ReadModelDuplicates(query, CoalescedRead(infra.event_store.head_position))
    warn = settings.duplicate_warnings
    commands = customer_command.attach(
        app,
        infra,
        settings,
        duplicates=duplicates if warn else None,
        directory=ReadModelDirectory(query),
    )
    customers = equipment.CustomersSide(
        customer_command.equipment_ledger(app),
        checkpoints,
        reconcile_here=settings.ownership_reconciler == "in-process",
    )
    items = equipment.attach(
        app,
        infra,
        read_store,
        settings,
        customers=customers,
        parked=parked,
        read_model=equipment_read_model,
    )
    return commands + items


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serve_infrastructure(app, settings) as infra, AsyncExitStack() as stack:
            read_store = await open_read_store(settings)
            stack.push_async_callback(read_store.close)
            checkpoints = await open_checkpoint_store(settings)
            stack.push_async_callback(checkpoints.close)
            consumers = await stack.enter_async_context(parked_events.serving(app, settings))
            parked = consumers.parked
            attached = attach(app, infra, read_store, checkpoints, settings, parked=parked)
            followers = write_side_followers(checkpoints, settings)
            observe(
                app,
                infra,
                settings,
                read_store=read_store,
                checkpoints=checkpoints,
                followers=followers,
            )
            await stack.enter_async_context(running(consumers, attached))
            yield

    app = FastAPI(title="customerhub customer-command", version="1", lifespan=lifespan)
    prepare_service_app(app, settings)
    routers = customer_command.routers() + equipment.routers(registry_routes=False)
    for router in [*routers, parked_events.router]:
        app.include_router(router)
    return app
