"""The checkpoint-store contract, once, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from customerhub_shared.checkpoints import CheckpointStore, open_checkpoint_store
from customerhub_shared.checkpoints.postgres import PostgresCheckpointStore
from customerhub_shared.checkpoints.sqlite import SQLiteCheckpointStore
from customerhub_shared.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def checkpoints(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[CheckpointStore]:
    if request.param == "sqlite":
        store: CheckpointStore = SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    else:
        store = await PostgresCheckpointStore.open(request.getfixturevalue("postgres_dsn"))
    yield store
    await store.close()


def a_name() -> str:
    return f"relay-{uuid.uuid4()}"


async def test_a_name_never_saved_has_no_checkpoint(checkpoints: CheckpointStore) -> None:
    assert await checkpoints.get(a_name()) is None


async def test_the_last_saved_position_is_kept_per_name(checkpoints: CheckpointStore) -> None:
    first, second = a_name(), a_name()
    await checkpoints.save(first, 10)
    await checkpoints.save(first, 42)
    await checkpoints.save(second, 7)
    assert await checkpoints.get(first) == 42
    assert await checkpoints.get(second) == 7


async def test_positions_beyond_32_bits_are_kept(checkpoints: CheckpointStore) -> None:
    # KurrentDB's commit positions are large numbers.
    name = a_name()
    await checkpoints.save(name, 2**62 + 5)
    assert await checkpoints.get(name) == 2**62 + 5


async def test_concurrent_saves_leave_one_of_the_saved_positions(
    checkpoints: CheckpointStore,
) -> None:
    name = a_name()
    await asyncio.gather(*(checkpoints.save(name, n) for n in range(1, 21)))
    assert await checkpoints.get(name) in range(1, 21)


async def test_a_reopened_sqlite_store_remembers(tmp_path: Path) -> None:
    name = a_name()
    store = SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    await store.save(name, 99)
    await store.close()
    again = SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    assert await again.get(name) == 99
    await again.close()


async def test_the_embedded_mode_keeps_checkpoints_in_the_data_directory(tmp_path: Path) -> None:
    store = await open_checkpoint_store(Settings(data_dir=tmp_path))
    try:
        assert isinstance(store, SQLiteCheckpointStore)
        await store.save(a_name(), 1)
    finally:
        await store.close()
    assert (tmp_path / "checkpoints.db").exists()


@pytest.mark.postgres
async def test_the_postgres_modes_keep_checkpoints_in_postgres(postgres_dsn: str) -> None:
    store = await open_checkpoint_store(Settings(event_store="postgres", postgres_dsn=postgres_dsn))
    try:
        assert isinstance(store, PostgresCheckpointStore)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_opening_postgres_stores_at_once_creates_the_table_once(postgres_dsn: str) -> None:
    stores = await asyncio.gather(*(PostgresCheckpointStore.open(postgres_dsn) for _ in range(4)))
    await asyncio.gather(*(store.close() for store in stores))
