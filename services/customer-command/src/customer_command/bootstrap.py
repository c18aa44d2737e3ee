"""The composition root of customer-command: settings and adapters in, a FastAPI app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import APIRouter, FastAPI

from customer_command.adapters.import_store_sqlite import SQLiteImportStore
from customer_command.adapters.repository import CustomerRepository, EventWriter
from customer_command.adapters.sealed_uploads import SealedUploads
from customer_command.application.duplicates import DuplicateFinder
from customer_command.application.handlers import CustomerPorts, holds_name
from customer_command.application.imports.ports import CustomerDirectory, ImportStore
from customer_command.application.imports.row_import import RowImport
from customer_command.application.imports.runner import ImportRunner
from customer_command.application.names import NameReservations
from customer_command.application.numbers import SUPPLIER_RANGE_STREAM, CustomerNumberRange
from customer_command.application.unsealing import UnsealPorts
from customer_command.entrypoints.equipment_ledger import EquipmentLedger
from customer_command.entrypoints.http import (
    activities,
    attachments,
    bulk,
    contacts,
    customers,
    events,
    imports,
    lifecycle,
    locations,
    relations,
    unsealing,
)
from customer_command.entrypoints.http.runner import CommandService
from customerhub_shared.consumers import Attached, Consumers, running
from customerhub_shared.events import default_registry
from customerhub_shared.http.health import observe
from customerhub_shared.http.service import prepare_service_app, serve_infrastructure
from customerhub_shared.infrastructure import Infrastructure
from customerhub_shared.mapper import EventMapper
from customerhub_shared.settings import Settings, load_settings


def build_command_service(
    infra: Infrastructure, settings: Settings, duplicates: DuplicateFinder | None = None
) -> CommandService:
    writer = EventWriter(infra.event_store, EventMapper(default_registry()), infra.keyring)
    customers_repo = CustomerRepository(writer)
    ports = CustomerPorts(
        customers=customers_repo,
        names=NameReservations(writer, partial(holds_name, customers_repo), infra.keyring),
        numbers=CustomerNumberRange(
            writer, prefix=settings.customer_number_prefix, start=settings.customer_number_start
        ),
        keyring=infra.keyring,
        blobs=infra.blobs,
        name_uniqueness=settings.name_uniqueness,
        duplicates=duplicates,
        supplier_numbers=CustomerNumberRange(
            writer,
            prefix=settings.supplier_number_prefix,
            start=settings.supplier_number_start,
            stream=SUPPLIER_RANGE_STREAM,
        ),
        default_language=settings.default_language,
    )
    return CommandService(
        ports=ports,
        idempotency=infra.idempotency,
        attachment_max_bytes=settings.attachment_max_bytes,
    )


def routers() -> list[APIRouter]:
    return [
        bulk.router,
        customers.router,
        contacts.router,
        locations.router,
        lifecycle.router,
        relations.router,
        activities.router,
        attachments.router,
        events.router,
        unsealing.router,
        imports.router,
    ]


def attach(
    app: FastAPI,
    infra: Infrastructure,
    settings: Settings,
    duplicates: DuplicateFinder | None = None,
    *,
    directory: CustomerDirectory | None = None,
) -> Attached:
    """Give an app (this service's own, or the embedded one) what the routes need; with a
    duplicate finder, a create answers the customers it may duplicate. Runs the imports
    (matching rows against `directory`, where the read model is at hand)."""
    app.state.customer_command = build_command_service(infra, settings, duplicates)
    app.state.unseal_ports = UnsealPorts(
        EventMapper(default_registry()), infra.keyring, infra.access_log
    )
    return Attached(background=(partial(importing, app, settings, directory),))


def equipment_ledger(app: FastAPI) -> EquipmentLedger:
    """The customers' side of equipment ownership, for the equipment service composed beside
    this one (after `attach`)."""
    service: CommandService = app.state.customer_command
    return EquipmentLedger(service.ports)


def standalone_equipment_ledger(infra: Infrastructure, settings: Settings) -> EquipmentLedger:
    """The same, for a process that serves no routes (`customerhub reconcile`)."""
    return EquipmentLedger(build_command_service(infra, settings).ports)


async def open_import_store(settings: Settings) -> ImportStore:
    """Beside the keys: PostgreSQL where they are, else a file in the data directory."""
    if settings.event_store == "postgres" or (
        settings.event_store == "kurrentdb" and settings.postgres_dsn
    ):
        from customer_command.adapters.import_store_postgres import PostgresImportStore

        if not settings.postgres_dsn:
            raise RuntimeError("this deployment mode needs CUSTOMERHUB_POSTGRES_DSN to be set")
        return await PostgresImportStore.open(settings.postgres_dsn)
    return SQLiteImportStore(settings.data_dir / "imports.db")


def import_runner(
    service: CommandService, store: ImportStore, directory: CustomerDirectory | None
) -> ImportRunner:
    # The uploaded lists are sealed with the customers' keyring (the import's own key).
    sealed = SealedUploads(store, service.ports.keyring)
    return ImportRunner(sealed, RowImport(service.ports, directory))


@asynccontextmanager
async def importing(
    app: FastAPI, settings: Settings, directory: CustomerDirectory | None = None
) -> AsyncIterator[ImportRunner]:
    """Imports run as background tasks of the app (after `attach`); unfinished ones resume."""
    store = await open_import_store(settings)
    runner = import_runner(app.state.customer_command, store, directory)
    app.state.customer_imports = runner
    try:
        await runner.resume_unfinished()
        yield runner
    finally:
        await runner.stop()
        await store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serve_infrastructure(app, settings) as infra:
            attached = attach(app, infra, settings)
            observe(app, infra, settings)
            async with running(Consumers(parked=None), attached):
                yield

    app = FastAPI(title="customerhub customer-command", version="1", lifespan=lifespan)
    prepare_service_app(app, settings)
    for router in routers():
        app.include_router(router)
    return app
