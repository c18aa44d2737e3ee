"""The composition root of equipment: settings and adapters in, a FastAPI app out.

Assigning equipment to customers needs the customers' side (`CustomerLedger`), which
customer-command offers in the embedded composition; there `attach` also builds the
ownership reconciler, for the caller to run beside the equipment projector. Standalone,
this service serves the registry and its read model only; its projector follows the log or,
with CUSTOMERHUB_CONSUMER_TRANSPORT=kafka, consumes the equipment topic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from fastapi import APIRouter, FastAPI

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
from equipment.adapters.repository import EquipmentRepository
from equipment.application.handlers import EquipmentPorts
from equipment.application.ports import Checkpoints, CustomerLedger
from equipment.application.reconciler import OwnershipReconciler
from equipment.domain.view import EquipmentView
from equipment.entrypoints.http import customer_equipment
from equipment.entrypoints.http import equipment as registry
from equipment.entrypoints.http.service import EquipmentService
from equipment.entrypoints.reconciling import reconciler_runner

__all__ = [
    "attach",
    "create_app",
    "ownership_reconciler",
    "reconciler_runner",
    "routers",
]
# The consumer group of the equipment projector (CUSTOMERHUB_CONSUMER_TRANSPORT=kafka).
CONSUMER = "equipment.items"


def routers(*, registry_routes: bool = True, assignment: bool = True) -> list[APIRouter]:
    """The registry's routes, and the customers' equipment routes (assigning needs the
    customers' side: `attach` with `customers`)."""
    return [
        *([registry.router] if registry_routes else []),
        *([customer_equipment.router] if assignment else []),
    ]


def ownership_reconciler(
    infra: Infrastructure, settings: Settings, customers: CustomerLedger, checkpoints: Checkpoints
) -> OwnershipReconciler:
    """The one writer of the customers' equipment lists: run exactly one per event log."""
    return OwnershipReconciler(
        items=EquipmentRepository(infra.event_store, EventMapper(default_registry())),
        customers=customers,
        checkpoints=checkpoints,
        wait_timeout=settings.freshness_timeout_seconds,
    )


@dataclass(frozen=True, slots=True)
class CustomersSide:
    """Given to the equipment service composed beside customer-command: the customers'
    ledger, where the reconciler keeps its checkpoint, and whether it runs in this process."""

    ledger: CustomerLedger
    checkpoints: Checkpoints
    reconcile_here: bool = True


def attach(
    app: FastAPI,
    infra: Infrastructure,
    read_store: ReadStore,
    settings: Settings,
    *,
    customers: CustomersSide | None = None,
    parked: ParkedStore | None = None,
    read_model: bool = True,
) -> Attached:
    """Give an app (this service's own, or the embedded one) what the routes need.

    Runs the equipment projector (unless the read model is served elsewhere: `read_model`)
    and, given the customers' side, the ownership reconciler.
    """
    mapper = EventMapper(default_registry())
    items = EquipmentRepository(infra.event_store, mapper)
    reconciler = None
    if customers is not None:
        reconciler = ownership_reconciler(infra, settings, customers.ledger, customers.checkpoints)
    projector = Projector(EquipmentView(), read_store, mapper, infra.keyring)
    app.state.equipment = EquipmentService(
        ports=EquipmentPorts(
            items=items,
            customers=customers.ledger if customers else None,
            reconciliation=reconciler,
        ),
        idempotency=infra.idempotency,
        read_store=read_store,
        projector=projector,
        freshness_timeout=settings.freshness_timeout_seconds,
        head=infra.event_store.head_position,
    )
    attached = _keeping_fresh(projector, infra, settings, parked) if read_model else Attached()
    if reconciler is not None and customers is not None and customers.reconcile_here:
        attached += _reconciling(reconciler, infra, settings, parked)
    return attached


def _reconciling(
    reconciler: OwnershipReconciler,
    infra: Infrastructure,
    settings: Settings,
    parked: ParkedStore | None,
) -> Attached:
    reconciling = reconciler_runner(
        reconciler,
        infra.event_store,
        batch_size=settings.projector_batch_size,
        parked=parked,
        max_attempts=settings.consumer_max_attempts,
    )
    return Attached.following_log(reconciling, on_stop=reconciler.wake)


def _keeping_fresh(
    projector: Projector, infra: Infrastructure, settings: Settings, parked: ParkedStore | None
) -> Attached:
    """The equipment read model's projector: following the log, or consuming the equipment
    topic as a consumer-group agent (CUSTOMERHUB_CONSUMER_TRANSPORT=kafka)."""
    projector_runner = runner(projector, settings, events=infra.event_store, parked=parked)
    if settings.consumer_transport == "log":
        return Attached.following_log(projector_runner)
    from customerhub_shared.bus.agents import consuming
    from customerhub_shared.bus.handlers import ConsumerFeed

    topics = [settings.kafka_equipment_topic]
    feed = ConsumerFeed(projector_runner)
    agent = partial(consuming, settings, consumer=CONSUMER, topics=topics, handler=feed)
    return Attached((projector_runner,), (agent,))


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
                followers = [projection_follower(EquipmentView.name, read_store)]
                observe(app, infra, settings, read_store=read_store, followers=followers)
                async with running(consumers, attached):
                    yield
            finally:
                await read_store.close()

    app = FastAPI(title="customerhub equipment", version="1", lifespan=lifespan)
    prepare_service_app(app, settings)
    for router in [*routers(assignment=False), parked_events.router]:
        app.include_router(router)
    return app
