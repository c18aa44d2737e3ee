"""Runs imports: rows are read in batches, each row becomes the API's own commands, and a
batch's outcomes are stored with the row to resume from.

A row's commands carry an idempotency key derived from the file's hash, the row number and
the step, so their event ids are deterministic; a new customer's id is derived from its
external id, its customer number, or else the file and row. A re-run after a crash therefore
finds what the interrupted run wrote and cannot write it twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import structlog

from customer_command.adapters.spreadsheets import Row, read_sheet
from customer_command.application.imports.ports import (
    ImportOptions,
    ImportRecord,
    ImportStore,
    NewCustomerClaims,
    RowNote,
)
from customer_command.application.imports.row_import import RowImport, RowResult
from customer_command.application.imports.rows import column_fields
from customer_command.application.imports.turns import ClaimTurns

log = structlog.get_logger(__name__)
Progress = Callable[[ImportRecord], None]
BATCH_ROWS = 1000
# Rows of a batch run this many at a time; rows naming the same customer share a lane.
LANES = 64
_KEY_FIELDS = ("external_id", "customer_number", "name")


@dataclass
class ImportRunner:
    store: ImportStore
    rows: RowImport
    batch_rows: int = BATCH_ROWS
    lanes: int = LANES
    _tasks: dict[UUID, asyncio.Task[ImportRecord]] = field(default_factory=dict)

    async def submit(
        self, content: bytes, *, file_name: str, actor: str, options: ImportOptions
    ) -> ImportRecord:
        """Store a new import (or find the unfinished one of the same file and options)."""
        sheet = read_sheet(content)
        column_fields(sheet.columns, options.mapping)
        # Read to the end now, so that a file broken further down is refused, not half-imported.
        total_rows = await asyncio.to_thread(sheet.count)
        file_hash = hashlib.sha256(content).hexdigest()
        for record in await self.store.unfinished():
            if record.file_hash == file_hash and record.options == options:
                return record
        record = ImportRecord(
            import_id=uuid.uuid4(),
            file_name=file_name,
            file_hash=file_hash,
            actor=actor,
            options=options,
            created_at=datetime.now(UTC),
            total_rows=total_rows,
        )
        await self.store.add(record, content)
        return record

    def start(self, import_id: UUID) -> None:
        """Run the import in the background, unless this process runs it already."""
        if import_id in self._tasks:
            return
        task = asyncio.create_task(self._run_recorded(import_id), name=f"import-{import_id}")
        self._tasks[import_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(import_id, None))

    async def finish(self, import_id: UUID, progress: Progress) -> ImportRecord:
        """Run the import (or join the run already going here), reporting as it goes."""
        self.start(import_id)
        task = self._tasks[import_id]
        while not task.done():
            record = await self.store.get(import_id)
            if record is not None:
                progress(record)
            await asyncio.wait({task}, timeout=0.2)
        record = task.result()
        progress(record)
        return record

    async def resume_unfinished(self) -> None:
        for record in await self.store.unfinished():
            self.start(record.import_id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_recorded(self, import_id: UUID) -> ImportRecord:
        """Run; a failure that is no row's (a bug, a store down) fails the import, logged,
        instead of leaving it running for ever."""
        try:
            return await self.run(import_id)
        except Exception as error:
            log.exception("import_failed", import_id=str(import_id))
            record = await self.store.get(import_id)
            assert record is not None
            record.status, record.finished_at = "failed", datetime.now(UTC)
            record.failure = type(error).__name__
            await self.store.save_progress(record, [])
            return record

    async def run(self, import_id: UUID, progress: Progress | None = None) -> ImportRecord:
        record = await self.store.get(import_id)
        assert record is not None, "imports are stored before they run"
        sheet = read_sheet(await self.store.content(import_id))
        fields = column_fields(sheet.columns, record.options.mapping)
        interrupted = record.status == "running"
        record.status = "running"
        if record.total_rows is None:
            record.total_rows = await asyncio.to_thread(sheet.count)
        await self.store.save_progress(record, [])
        log.info("import_started", import_id=str(import_id), resumed=interrupted)
        run = _Run(record, fields, self._claims(), progress)
        batch: list[Row] = []
        for row in sheet.rows(start=max(record.next_row, 2)):
            batch.append(row)
            if len(batch) == self.batch_rows:
                await self._batch(run, batch, recovering=interrupted)
                batch, interrupted = [], False
        if batch:
            await self._batch(run, batch, recovering=interrupted)
        record.status, record.finished_at = "completed", datetime.now(UTC)
        await self.store.save_progress(record, [])
        log.info("import_completed", import_id=str(import_id), **record.counts)
        if progress is not None:
            progress(record)
        return record

    def _claims(self) -> NewCustomerClaims | None:
        directory = self.rows.directory
        return None if directory is None else directory.claims()

    async def _batch(self, run: _Run, batch: list[Row], *, recovering: bool) -> None:
        record = run.record
        turns = None if run.claims is None else ClaimTurns(run.claims, (n for n, _ in batch))

        async def one(number: int, cells: dict[str, str]) -> RowResult:
            turn = None if turns is None else turns.of(number)
            try:
                return await self.rows.run(
                    record, number, cells, run.fields, recovering=recovering, turn=turn
                )
            finally:
                if turn is not None:
                    turn.passed()

        async def lane(rows: list[Row]) -> list[tuple[int, RowResult]]:
            return [(number, await one(number, cells)) for number, cells in rows]

        lanes = _lanes(batch, run.fields, self.lanes)
        done = await asyncio.gather(*(lane(rows) for rows in lanes))
        notes: list[RowNote] = []
        for _, (outcome, row_notes) in sorted(result for results in done for result in results):
            record.counts[outcome] += 1
            notes += row_notes
        record.next_row = batch[-1][0] + 1
        await self.store.save_progress(record, notes)
        if run.progress is not None:
            run.progress(record)


@dataclass(frozen=True)
class _Run:
    """One run of an import: what every batch of it shares."""

    record: ImportRecord
    fields: dict[str, str]
    claims: NewCustomerClaims | None
    progress: Progress | None


def _lanes(batch: list[Row], fields: dict[str, str], count: int) -> list[list[Row]]:
    """Rows that may name the same customer (same external id, number or name) in one lane,
    so they run in file order; the others run side by side."""
    columns = {field: column for column, field in fields.items()}
    lanes: list[list[Row]] = [[] for _ in range(count)]
    for number, cells in batch:
        key = next(
            (
                cells[columns[f]].strip().casefold()
                for f in _KEY_FIELDS
                if cells.get(columns.get(f, ""))
            ),
            str(number),
        )
        lanes[zlib.crc32(key.encode()) % count].append((number, cells))
    return [lane for lane in lanes if lane]
