"""A live projector over the SQLite event and read stores: an append in this process is
applied at once, not at the next poll, and a replay folds many events per document."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from customerhub_shared import projection
from customerhub_shared.events import default_registry
from customerhub_shared.events.base import EventMetadata
from customerhub_shared.events.equipment import EquipmentDetailsChanged, EquipmentRegistered
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector, projectors_following
from customerhub_shared.readstore import Document
from customerhub_shared.readstore.sqlite import SQLiteReadStore
from customerhub_shared.replay import replay
from equipment.domain.view import EquipmentView

# Far longer than the waits below: only the in-process wake-up can explain a quick apply.
POLL_INTERVAL = 5.0
MAPPER = EventMapper(default_registry())


class Stores:
    def __init__(self, events: SQLiteEventStore, read: SQLiteReadStore, keys: SQLiteKeyRing):
        self.events, self.read, self.keys = events, read, keys

    def projector(self, generation: int | None = None) -> Projector:
        return Projector(EquipmentView(), self.read, MAPPER, self.keys, generation=generation)

    async def append(
        self, item: UUID, *events: EquipmentRegistered | EquipmentDetailsChanged
    ) -> int:
        metadata = EventMetadata(actor="alice", correlation_id="c", occurred_at=datetime.now(UTC))
        new = [MAPPER.to_new_event(event, metadata, key=None) for event in events]
        result = await self.events.append(f"equipment-{item}", new, expected_version=None)
        return result.position


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    events = await SQLiteEventStore.open(tmp_path / "events.db", poll_interval=POLL_INTERVAL)
    read = await SQLiteReadStore.open(tmp_path / "read.db")
    keys = SQLiteKeyRing(tmp_path / "keys.db")
    try:
        yield Stores(events, read, keys)
    finally:
        await read.close()
        await keys.close()
        await events.close()


async def reached(projector: Projector, position: int, within: float) -> float:
    """Seconds until the projector's checkpoint reached `position`; fails after `within`."""
    began = time.perf_counter()
    while (await projector.position() or 0) < position:
        assert time.perf_counter() - began < within, "the projector did not catch up in time"
        await projector.wait_for_progress(0.01)
    return time.perf_counter() - began


async def test_an_append_in_this_process_is_applied_without_waiting_for_a_poll(
    stores: Stores,
) -> None:
    projector = stores.projector()
    async with projectors_following([projector], stores.events):
        delays = []
        for _ in range(9):
            await asyncio.sleep(0.06)  # the follower is idle, waiting on its subscription
            item = uuid4()
            position = await stores.append(item, EquipmentRegistered(equipment_id=item, name="A"))
            delays.append(await reached(projector, position, within=POLL_INTERVAL / 2))
            document = await stores.read.get(projector.collection, str(item))
            assert document is not None and document["name"] == "A"
    # Waking on a poll (even one of 50 ms) would put the median near half the interval.
    assert sorted(delays)[4] < 0.02, delays


async def test_the_follower_resumes_from_the_checkpoint_after_being_stopped(
    stores: Stores,
) -> None:
    first, second = uuid4(), uuid4()
    await stores.append(first, EquipmentRegistered(equipment_id=first, name="First"))
    projector = stores.projector()
    async with projectors_following([projector], stores.events):
        await reached(projector, 1, within=2.0)
    position = await stores.append(second, EquipmentRegistered(equipment_id=second, name="Two"))
    async with projectors_following([projector], stores.events):
        await reached(projector, position, within=2.0)
    assert await stores.read.count(projector.collection) == 2


async def test_a_replay_in_small_batches_folds_each_document_to_its_last_version(
    stores: Stores,
) -> None:
    items = [uuid4() for _ in range(30)]
    for round_number in range(4):
        for item in items:
            if round_number == 0:
                await stores.append(item, EquipmentRegistered(equipment_id=item, name="Pump"))
            else:
                renamed = EquipmentDetailsChanged(
                    equipment_id=item, changed=("name",), name=f"Pump {round_number}"
                )
                await stores.append(item, renamed, renamed)
    outcome = await replay(
        EquipmentView(),
        events=stores.events,
        store=stores.read,
        mapper=MAPPER,
        keyring=stores.keys,
        batch_size=50,
    )
    assert outcome.events == 30 * 7
    collection = stores.projector(outcome.generation).collection
    for item in items:
        document = await stores.read.get(collection, str(item))
        assert document is not None
        assert (document["name"], document["_version"], document["version"]) == ("Pump 3", 7, 7)
        assert document["search_terms"] == ["3", "pump"]


class FailingThirdWrite(SQLiteReadStore):
    """Refuses its third write, as a read store that went away would."""

    writes = 0

    async def write(self, collection: str, documents: Sequence[Document], **kw: Any) -> None:
        self.writes += 1
        if self.writes == 3:
            raise OSError("the read store went away")
        await super().write(collection, documents, **kw)


async def test_a_failed_write_stops_catching_up_at_the_last_batch_written(
    stores: Stores, tmp_path: Path
) -> None:
    items = [uuid4() for _ in range(40)]
    for item in items:
        await stores.append(item, EquipmentRegistered(equipment_id=item, name="Drill"))
    for item in items:
        renamed = EquipmentDetailsChanged(equipment_id=item, changed=("name",), name="Saw")
        await stores.append(item, renamed)
    failing = await FailingThirdWrite.open(tmp_path / "failing.db")
    try:
        projector = Projector(EquipmentView(), failing, MAPPER, stores.keys, generation=2)
        with pytest.raises(OSError):
            await projector.catch_up(stores.events, batch_size=25)
        assert await projector.position() == 50, "batches 1 and 2 are written, not 3 nor 4"
        assert await projector.catch_up(stores.events, batch_size=25) == 30
        for item in items:
            document = await failing.get(projector.collection, str(item))
            assert document is not None and (document["name"], document["_version"]) == ("Saw", 2)
    finally:
        await failing.close()


async def test_a_rebuild_whose_write_fails_keeps_the_batches_before_and_resumes_after_them(
    stores: Stores, tmp_path: Path
) -> None:
    items = [uuid4() for _ in range(40)]
    for item in items:
        await stores.append(item, EquipmentRegistered(equipment_id=item, name="Drill"))
    for item in items:
        renamed = EquipmentDetailsChanged(equipment_id=item, changed=("name",), name="Saw")
        await stores.append(item, renamed)
    failing = await FailingThirdWrite.open(tmp_path / "failing.db")
    try:
        projector = Projector(EquipmentView(), failing, MAPPER, stores.keys, generation=2)
        with pytest.raises(OSError):
            await projector.rebuild(stores.events, batch_size=25)
        # The third batch was folded on top of the second while it was written; its write
        # failed, so the checkpoint stays at the second.
        assert await projector.position() == 50, "batches 1 and 2 are written, not 3 nor 4"
        assert await projector.rebuild(stores.events, batch_size=25) == 30
        for item in items:
            document = await failing.get(projector.collection, str(item))
            assert document is not None and (document["name"], document["_version"]) == ("Saw", 2)
    finally:
        await failing.close()


class CountingReads(SQLiteReadStore):
    reads = 0

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        self.reads += 1
        return await super().get_many(collection, doc_ids)


@pytest.fixture
async def counting(tmp_path: Path) -> AsyncIterator[CountingReads]:
    store = await CountingReads.open(tmp_path / "counting.db")
    yield store
    await store.close()


def counted_projector(counting: CountingReads, stores: Stores) -> Projector:
    return Projector(EquipmentView(), counting, MAPPER, stores.keys, generation=2)


async def lathe_renamed_to_mill(stores: Stores) -> UUID:
    item = uuid4()
    await stores.append(item, EquipmentRegistered(equipment_id=item, name="Lathe"))
    renamed = EquipmentDetailsChanged(equipment_id=item, changed=("name",), name="Mill")
    await stores.append(item, renamed)
    return item


async def test_a_batch_from_the_start_of_the_log_reads_no_stored_document(
    stores: Stores, counting: CountingReads
) -> None:
    items = [await lathe_renamed_to_mill(stores) for _ in range(10)]
    projector = counted_projector(counting, stores)
    assert await projector.catch_up(stores.events, batch_size=15) == 20
    assert counting.reads == 1, "only the second batch reads what the first one left"
    for item in items:
        document = await counting.get(projector.collection, str(item))
        assert document is not None and (document["name"], document["_version"]) == ("Mill", 2)


async def test_a_stream_beginning_in_the_batch_reads_no_stored_document_and_keeps_a_newer_one(
    stores: Stores, counting: CountingReads
) -> None:
    item = await lathe_renamed_to_mill(stores)
    first, second = await stores.events.read_all(after=None)
    projector = counted_projector(counting, stores)
    await projector.process([first])
    await projector.process([second])
    assert counting.reads == 1, "a later event of the stream folds onto the stored document"
    await projector.process([first])  # handed again, after a crash before the checkpoint
    assert counting.reads == 1
    document = await counting.get(projector.collection, str(item))
    assert document is not None and (document["name"], document["_version"]) == ("Mill", 2)


async def test_a_redelivery_mixing_a_streams_first_event_with_a_new_one_folds_onto_the_stored(
    stores: Stores, counting: CountingReads
) -> None:
    item = await lathe_renamed_to_mill(stores)
    await stores.append(
        item, EquipmentDetailsChanged(equipment_id=item, changed=("brand",), brand="Acme")
    )
    registered, renamed, branded = await stores.events.read_all(after=None)
    projector = counted_projector(counting, stores)
    await projector.process([registered, renamed])
    await projector.process([registered, branded])  # the first one handed again
    document = await counting.get(projector.collection, str(item))
    assert document is not None
    assert (document["name"], document["brand"], document["_version"]) == ("Mill", "Acme", 3)


class FailingFourthRead:
    """The log of `events` whose fourth page read fails, as a store that went away would."""

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events, self.reads = events, 0

    async def head_position(self) -> int | None:
        return await self.events.head_position()

    async def read_all(self, *, after: int | None = None, limit: int = 1000) -> list[Any]:
        self.reads += 1
        if self.reads == 4:
            raise OSError("the event store went away")
        return await self.events.read_all(after=after, limit=limit)


async def test_a_rebuild_reads_its_batches_in_pages_ahead_and_raises_a_failed_read(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projection, "PAGE_SIZE", 7)
    items = [uuid4() for _ in range(40)]
    for item in items:
        await stores.append(item, EquipmentRegistered(equipment_id=item, name="Drill"))
    for item in items:
        renamed = EquipmentDetailsChanged(equipment_id=item, changed=("name",), name="Saw")
        await stores.append(item, renamed)
    failing = Projector(EquipmentView(), stores.read, MAPPER, stores.keys, generation=3)
    with pytest.raises(OSError, match="went away"):
        await failing.rebuild(FailingFourthRead(stores.events), batch_size=14)  # type: ignore[arg-type]
    assert await failing.position() == 14, "pages 1 and 2 were its first batch, written"
    outcome = await replay(
        EquipmentView(),
        events=stores.events,
        store=stores.read,
        mapper=MAPPER,
        keyring=stores.keys,
        batch_size=30,
    )
    assert outcome.events == 80 and gc.isenabled(), "the collector is back on after a replay"
    for item in items:
        document = await stores.read.get(stores.projector(outcome.generation).collection, str(item))
        assert document is not None and (document["name"], document["_version"]) == ("Saw", 2)


class RecordingWrites(SQLiteReadStore):
    """Notes each write's document count and checkpoint position."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.writes: list[tuple[int, int]] = []

    async def write(self, collection: str, documents: Sequence[Document], **kw: Any) -> None:
        self.writes.append((len(documents), kw["position"]))
        await super().write(collection, documents, **kw)


async def test_a_rebuild_writes_a_batch_in_chunks_and_moves_the_checkpoint_with_the_last(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projection, "FOLD_CHUNK", 10)
    items = [uuid4() for _ in range(40)]
    for item in items:
        await stores.append(item, EquipmentRegistered(equipment_id=item, name="Drill"))
    for item in items[:30]:
        renamed = EquipmentDetailsChanged(equipment_id=item, changed=("name",), name="Saw")
        await stores.append(item, renamed)
    recording = await RecordingWrites.open(tmp_path / "recording.db")
    try:
        projector = Projector(EquipmentView(), recording, MAPPER, stores.keys, generation=2)
        assert await projector.rebuild(stores.events, batch_size=50) == 70
        # Batch 1 (positions 1-50): 40 documents in 4 chunks; batch 2: 20 in 2.
        assert recording.writes == [(10, 0), (10, 0), (10, 0), (10, 50), (10, 50), (10, 70)]
        for item in items:
            document = await recording.get(projector.collection, str(item))
            assert document is not None
            renamed = item in items[:30]
            assert (document["name"], document["_version"]) == (
                ("Saw", 2) if renamed else ("Drill", 1)
            )
    finally:
        await recording.close()
