"""One row of an import: matched to the customer it names, then created, updated or left
alone through the same handlers as the API; a likely duplicate is held back unless asked."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from customer_command.adapters.repository import LoadedCustomer, customer_stream
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import CustomerPorts, handle
from customer_command.application.imports.plan import contact_id_for, update_commands
from customer_command.application.imports.ports import (
    ClaimedRow,
    CustomerDirectory,
    ImportRecord,
    Outcome,
    RowNote,
)
from customer_command.application.imports.rows import CustomerRow, read_row
from customer_command.application.imports.turns import RowTurn
from customer_command.application.names import NameTaken
from customer_command.domain.errors import DomainError
from customerhub_shared.eventstore import ConcurrencyConflict, DuplicateEventId

_IMPORTED_IDS = uuid.UUID("0b6f3c1e-7d0a-4c7e-9a55-2f1e8d4c6a90")
LIKELY_DUPLICATE = 0.8
RowResult = tuple[Outcome, list[RowNote]]


def imported_customer_id(row: CustomerRow, file_hash: str, number: int) -> UUID:
    """The same external id or customer number names the same customer in every file."""
    if row.external_id:
        return uuid.uuid5(_IMPORTED_IDS, f"external_id\x1f{row.external_id}")
    if row.customer.customer_number:
        return uuid.uuid5(_IMPORTED_IDS, f"customer_number\x1f{row.customer.customer_number}")
    return uuid.uuid5(_IMPORTED_IDS, f"row\x1f{file_hash}\x1f{number}")


@dataclass(frozen=True)
class RowImport:
    ports: CustomerPorts
    directory: CustomerDirectory | None = None

    async def run(
        self,
        record: ImportRecord,
        number: int,
        cells: Mapping[str, str],
        fields: Mapping[str, str],
        *,
        recovering: bool,
        turn: RowTurn | None = None,
    ) -> RowResult:
        """The row's outcome; its `turn` (if any) is passed or claimed before its writes."""
        row = read_row(cells, fields)
        if isinstance(row, list):
            return "failed", [RowNote(number, "error", e.field, e.message) for e in row]
        step = _Steps(record, number)
        try:
            loaded = await self._match(row, imported_customer_id(row, record.file_hash, number))
            if loaded is not None and turn is not None:
                await turn.known(loaded.customer.id, _claimed(row))
            if recovering and loaded is not None:
                earlier = await self._written_by(loaded.customer.id, step.key_prefix)
                if earlier is not None:
                    return earlier, []
            if loaded is None:
                return await self._create(record, number, row, step, turn)
            return await self._update(record, loaded, row, step)
        except (DomainError, NameTaken, ConcurrencyConflict, DuplicateEventId) as refused:
            return "failed", [RowNote(number, "error", None, str(refused))]

    async def _match(self, row: CustomerRow, customer_id: UUID) -> LoadedCustomer | None:
        loaded = await self.ports.customers.find(customer_id)
        number = row.customer.customer_number
        if loaded is None and number and self.directory is not None:
            known = await self.directory.numbered(number)
            if known is not None:
                loaded = await self.ports.customers.find(known)
        return loaded

    async def _create(
        self,
        record: ImportRecord,
        number: int,
        row: CustomerRow,
        step: _Steps,
        turn: RowTurn | None,
    ) -> RowResult:
        customer_id = imported_customer_id(row, record.file_hash, number)
        matches: list[tuple[str, float]] = []
        if not record.options.create_duplicates:
            matches = await self._likely_duplicates(row)
        if turn is not None and not matches and not record.options.create_duplicates:
            claimed = _claimed(row)
            matches = await turn.claim(customer_id, claimed, at_least=LIKELY_DUPLICATE)
        elif turn is not None:
            turn.passed()
        if matches:
            return "duplicates", [RowNote(number, "duplicate", None, _SAME, tuple(matches))]
        outcome: RowResult = ("failed", [])
        try:
            if record.options.dry_run:
                outcome = ("created", [])
            else:
                outcome = await self._create_customer(number, row, step, customer_id)
            return outcome
        finally:
            if outcome[0] != "created" and turn is not None:
                turn.release(customer_id)

    async def _create_customer(
        self, number: int, row: CustomerRow, step: _Steps, customer_id: UUID
    ) -> RowResult:
        contact = None
        if row.contact is not None:
            contact = (contact_id_for(customer_id, row.contact.full_name()), row.contact)
        command = c.CreateCustomer(customer_id, row.customer, main_contact=contact)
        try:
            await handle(command, step("create"), self.ports)
        except NameTaken as taken:
            note = RowNote(number, "duplicate", "name", _SAME, ((str(taken.holder_id), 1.0),))
            return "duplicates", [note]
        return "created", []

    async def _update(
        self, record: ImportRecord, loaded: LoadedCustomer, row: CustomerRow, step: _Steps
    ) -> RowResult:
        commands = update_commands(loaded.customer, row)
        if not commands:
            return "unchanged", []
        if not record.options.dry_run:
            for n, command in enumerate(commands):
                await handle(command, step(f"update-{n}"), self.ports)
        return "updated", []

    async def _likely_duplicates(self, row: CustomerRow) -> list[tuple[str, float]]:
        if self.directory is None:
            return []
        found = await self.directory.likely_duplicates(
            name=row.customer.name, email=row.customer.email, phone=row.customer.phone
        )
        return _likely(found)

    async def _written_by(self, customer_id: UUID, key_prefix: str) -> Outcome | None:
        """What an interrupted run already did for this row, read from the customer's stream."""
        history = await self.ports.customers.writer.read(customer_stream(customer_id))
        for envelope in history:
            if (envelope.metadata.idempotency_key or "").startswith(key_prefix):
                return "created" if envelope.revision == 0 else "updated"
        return None


def _likely(found: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(customer_id, score) for customer_id, score in found if score >= LIKELY_DUPLICATE]


def _claimed(row: CustomerRow) -> ClaimedRow:
    contact = row.contact
    return ClaimedRow(
        name=row.customer.name,
        email=row.customer.email,
        phone=row.customer.phone,
        contact_email=contact.email if contact is not None else None,
        contact_phone=contact.phone if contact is not None else None,
    )


_SAME = "likely the same as an existing customer: not created (create_duplicates=true creates it)"


@dataclass(frozen=True)
class _Steps:
    """The command context of each step of one row."""

    record: ImportRecord
    number: int

    @property
    def key_prefix(self) -> str:
        return f"import\x1f{self.record.file_hash}\x1f{self.number}\x1f"

    def __call__(self, step: str) -> CommandContext:
        return CommandContext(
            actor=self.record.actor,
            correlation_id=f"import-{self.record.import_id}",
            idempotency_key=f"{self.key_prefix}{step}",
            causation_id=str(self.record.import_id),
        )
