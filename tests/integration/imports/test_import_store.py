"""The import-store contract, once, on SQLite and on a real PostgreSQL: an import's record,
its file, its progress and its row notes survive the process that wrote them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customer_command.adapters.import_store_postgres import PostgresImportStore
from customer_command.adapters.import_store_sqlite import SQLiteImportStore
from customer_command.application.imports.ports import (
    ImportOptions,
    ImportRecord,
    ImportStore,
    RowNote,
)

Reopen = Callable[[], Awaitable[ImportStore]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Reopen]:
    """A function that opens the store again, as a restarted process would."""
    opened: list[ImportStore] = []

    async def open_store() -> ImportStore:
        if request.param == "sqlite":
            store: ImportStore = SQLiteImportStore(tmp_path / "imports.db")
        else:
            store = await PostgresImportStore.open(request.getfixturevalue("postgres_dsn"))
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


def a_record(**changes: object) -> ImportRecord:
    record = ImportRecord(
        import_id=uuid.uuid4(),
        file_name="clients.csv",
        file_hash=uuid.uuid4().hex,
        actor="alice",
        options=ImportOptions(dry_run=True, mapping={"Raison sociale": "name"}),
        created_at=datetime.now(UTC),
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


async def test_a_stored_import_reads_back_with_its_file(reopen: Reopen) -> None:
    store = await reopen()
    record = a_record()
    await store.add(record, b"name\nGarage Dupont\n")
    again = await reopen()
    assert await again.get(record.import_id) == record
    assert await again.content(record.import_id) == b"name\nGarage Dupont\n"
    assert await again.get(uuid.uuid4()) is None


async def test_progress_and_notes_are_saved_together_and_survive_a_restart(
    reopen: Reopen,
) -> None:
    store = await reopen()
    record = a_record()
    await store.add(record, b"x")
    record.status, record.total_rows, record.next_row = "running", 3, 4
    record.counts.update(created=1, failed=1)
    notes = [
        RowNote(2, "error", "email", "email must be a valid address"),
        RowNote(3, "duplicate", None, "likely the same", (("6f1c", 0.9), ("7a2b", 0.8))),
        RowNote(2, "error", "name", "name is required"),
    ]
    await store.save_progress(record, notes)
    again = await reopen()
    assert await again.get(record.import_id) == record
    kept = await again.notes(record.import_id, limit=10)
    assert kept == [notes[0], notes[2], notes[1]]
    assert await again.notes(record.import_id, limit=1) == [notes[0]]


async def test_only_queued_and_running_imports_are_unfinished(reopen: Reopen) -> None:
    store = await reopen()
    queued, running, done = a_record(), a_record(status="running"), a_record()
    for record in (queued, running, done):
        await store.add(record, b"x")
    done.status, done.finished_at = "completed", datetime.now(UTC)
    await store.save_progress(done, [])
    unfinished = {record.import_id for record in await store.unfinished()}
    assert {queued.import_id, running.import_id} <= unfinished
    assert done.import_id not in unfinished


async def test_a_finished_import_keeps_its_report_but_not_its_file(reopen: Reopen) -> None:
    store = await reopen()
    record = a_record()
    await store.add(record, b"name,email\nClaire Martin,claire@martin.example\n")
    record.status, record.finished_at = "completed", datetime.now(UTC)
    record.counts.update(created=1)
    await store.save_progress(record, [])
    assert await store.get(record.import_id) == record
    assert await store.content(record.import_id) == b""
