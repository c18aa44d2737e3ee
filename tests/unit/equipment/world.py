"""customer-command and equipment side by side over one in-memory event store, the ownership
reconciler run inline: what the embedded app composes, minus HTTP and background tasks."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from uuid import UUID, uuid4

from customer_command.application import commands as cc
from customer_command.application.context import CommandContext as CustomerContext
from customer_command.application.handlers import handle as handle_customer
from customer_command.bootstrap import build_command_service
from customer_command.domain.values import NewCustomer
from customer_command.entrypoints.equipment_ledger import EquipmentLedger
from customerhub_shared.accesslog.sqlite import SQLiteAccessLog
from customerhub_shared.blobs.local import LocalBlobStore
from customerhub_shared.events import default_registry
from customerhub_shared.events.equipment import EquipmentOwnerChanged
from customerhub_shared.idempotency.sqlite import SQLiteIdempotencyStore
from customerhub_shared.infrastructure import Infrastructure
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.settings import Settings
from equipment.adapters.repository import EquipmentRepository
from equipment.application import commands as c
from equipment.application.context import CommandContext, CommandResult
from equipment.application.handlers import EquipmentPorts, handle
from equipment.application.reconciler import OwnershipReconciler
from equipment.domain.values import NewEquipment
from tests.unit.equipment.fakes import InMemoryCheckpoints, InMemoryEventStore

_names = itertools.count(1)


class World:
    def __init__(self) -> None:
        self.events = InMemoryEventStore()
        infra = Infrastructure(
            self.events,
            SQLiteKeyRing(":memory:"),
            SQLiteIdempotencyStore(":memory:"),
            SQLiteAccessLog(":memory:"),
            # Never written here (no attachments): a folder made only if one were.
            LocalBlobStore(Path(tempfile.gettempdir()) / "customerhub-world-blobs"),
        )
        self.customer_ports = build_command_service(infra, Settings()).ports
        self.ledger = EquipmentLedger(self.customer_ports)
        self.items = EquipmentRepository(self.events, EventMapper(default_registry()))
        self.checkpoints = InMemoryCheckpoints()
        self.reconciler = OwnershipReconciler(
            items=self.items,
            customers=self.ledger,
            checkpoints=self.checkpoints,
            wait_timeout=1.0,
        )
        self.ports = EquipmentPorts(items=self.items, customers=self.ledger, reconciliation=self)
        self.ctx = CommandContext(actor="alice", correlation_id=f"request-{uuid4()}")

    # -- the reconciler, inline ---------------------------------------------------------------

    async def wait_past(self, position: int) -> bool:
        await self.reconcile()
        return True

    async def reconcile(self, *, batch_size: int = 500) -> None:
        """Run the reconciler until it has seen the whole log, its own appends included."""
        while batch := await self.events.read_all(
            after=await self.reconciler.position(), limit=batch_size
        ):
            await self.reconciler.process(batch)

    # -- customers, through customer-command ------------------------------------------------

    async def customer(self) -> UUID:
        customer_id = uuid4()
        details = NewCustomer.model_validate(
            {"name": f"Client {next(_names)}", "main_location": {"city": "Lyon"}}
        )
        await self.customer_command(cc.CreateCustomer(customer_id, details))
        return customer_id

    async def customer_command(self, command: cc.CustomerCommand) -> None:
        ctx = CustomerContext(actor="alice", correlation_id="customer-test")
        await handle_customer(command, ctx, self.customer_ports)

    async def listed(self, customer_id: UUID) -> set[UUID]:
        return (await self.customer_ports.customers.get(customer_id)).customer.equipment_ids

    # -- items, through the equipment handlers -----------------------------------------------

    async def item(self, name: str = "Chaudière Viessmann") -> UUID:
        command = c.RegisterEquipment(uuid4(), NewEquipment(name=name))
        return (await handle(command, self.ctx, self.ports)).id

    async def assign(self, customer_id: UUID, *ids: UUID, transfer: bool = False) -> CommandResult:
        return await handle(c.AssignEquipment(customer_id, ids, transfer), self.ctx, self.ports)

    async def unassign(self, customer_id: UUID, equipment_id: UUID) -> CommandResult:
        return await handle(c.UnassignEquipment(customer_id, equipment_id), self.ctx, self.ports)

    async def move(self, equipment_id: UUID, customer_id: UUID) -> None:
        """An owner change on the item only, as a request leaves it until the reconciler runs."""
        loaded = await self.items.get(equipment_id)
        loaded.item.assign_to(customer_id, transfer=True)
        await self.items.save(loaded.item, self.ctx)

    async def owner(self, equipment_id: UUID) -> UUID | None:
        return (await self.items.get(equipment_id)).item.owner

    async def owner_changes(self, equipment_id: UUID) -> list[EquipmentOwnerChanged]:
        history = await self.items.history(equipment_id)
        return [e.event for e in history if isinstance(e.event, EquipmentOwnerChanged)]
