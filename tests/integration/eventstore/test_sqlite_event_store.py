from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from tests.integration.eventstore.contract import EventStoreContract, fresh_stream, new_event


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
        store = await SQLiteEventStore.open(tmp_path / "events.db")
        yield store
        await store.close()


async def test_a_second_process_sees_the_same_log(tmp_path: Path) -> None:
    first = await SQLiteEventStore.open(tmp_path / "events.db")
    second = await SQLiteEventStore.open(tmp_path / "events.db")
    stream = fresh_stream()
    await first.append(stream, [new_event()], expected_version=0)
    assert len(await second.read_stream(stream)) == 1
    await first.close()
    await second.close()
