"""A rebuild of the customers view, which folds stream after stream, makes byte for byte the
documents and search terms the live projector made batch after batch in log order, over a
generated history with merges, anonymisations (keys destroyed), contacts, locations, labels
and equipment placed at a customer's location."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from customer_query.domain.view import CustomerView
from customerhub_shared import forked, projection
from customerhub_shared.events import default_registry
from customerhub_shared.events.base import EventMetadata
from customerhub_shared.events.customer import (
    CustomerEvent,
    CustomerLabelAdded,
    EquipmentAssigned,
    EquipmentPlaced,
    EquipmentUnassigned,
)
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.forked import Worker
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector
from customerhub_shared.readstore.sqlite import SQLiteReadStore
from customerhub_shared.replay import replay

REPO = Path(__file__).resolve().parents[3]
MAPPER = EventMapper(default_registry())


class History:
    def __init__(self, path: Path, events: SQLiteEventStore, keys: SQLiteKeyRing) -> None:
        self.path, self.events, self.keys = path, events, keys

    async def append(self, customer: str, *events: CustomerEvent) -> None:
        metadata = EventMetadata(actor="bob", correlation_id="c", occurred_at=datetime.now(UTC))
        new = [MAPPER.to_new_event(event, metadata, key=None) for event in events]
        await self.events.append(f"customer-{customer}", new, expected_version=None)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 customers, 3,000 customer events (2 merges, 3 anonymisations), as the bench makes."""
    data_dir = tmp_path_factory.mktemp("history")
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "generate_history.py"),
            *("--customers", "300", "--events", "3000", "--cohort", "50"),
            *("--merge-pairs", "2", "--anonymise", "3", "--data-dir", str(data_dir)),
            "--bookkeeping",
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    return data_dir


@pytest.fixture
async def history(generated: Path, tmp_path: Path) -> AsyncIterator[History]:
    for name in ("events.db", "keys.db"):
        (tmp_path / name).write_bytes((generated / name).read_bytes())
    events = await SQLiteEventStore.open(tmp_path / "events.db")
    keys = SQLiteKeyRing(tmp_path / "keys.db")
    try:
        yield History(tmp_path, events, keys)
    finally:
        await keys.close()
        await events.close()


def stored(path: Path, generation: int) -> tuple[dict[str, str], list[tuple[Any, ...]]]:
    """A generation's documents (id -> stored JSON) and its search terms, as stored."""
    db = sqlite3.connect(path)
    try:
        documents = dict(db.execute(f'SELECT _id, body FROM "docs_customers_g{generation}"'))
        terms = db.execute(
            "SELECT doc_id, term FROM search_terms WHERE collection = ? ORDER BY doc_id, term",
            (f"customers_g{generation}",),
        ).fetchall()
        return documents, terms
    finally:
        db.close()


async def equipment_at_their_locations(history: History) -> None:
    """Items assigned to a few customers and placed at their main location, one taken back."""
    db = sqlite3.connect(history.path / "read.db")
    try:
        rows = db.execute(
            "SELECT _id, json_extract(body, '$.main_location_id'), json_extract(body, '$.status')"
            ' FROM "docs_customers_g1" ORDER BY _id LIMIT 40'
        ).fetchall()
    finally:
        db.close()
    active = [(doc_id, location) for doc_id, location, status in rows if status == "active"]
    for doc_id, location in active[:6]:
        customer_id, item, other = UUID(doc_id), uuid4(), uuid4()
        await history.append(
            doc_id,
            EquipmentAssigned(customer_id=customer_id, equipment_id=item),
            EquipmentPlaced(customer_id=customer_id, equipment_id=item, location_id=location),
            EquipmentAssigned(customer_id=customer_id, equipment_id=other),
            CustomerLabelAdded(customer_id=customer_id, label="fleet"),
        )
        await history.append(
            doc_id, EquipmentUnassigned(customer_id=customer_id, equipment_id=other)
        )


@pytest.mark.parametrize(
    ("page_size", "batch_size", "forked_folds"),
    [(7, 400, 0), (7, 400, 2), (5000, 400, 1), (3, 5, 0)],
)
async def test_a_rebuild_stream_by_stream_makes_the_documents_the_live_projector_made(
    history: History,
    monkeypatch: pytest.MonkeyPatch,
    page_size: int,
    batch_size: int,
    forked_folds: int,
) -> None:
    # Small pages, chunks and lookups: streams cross pages, batches and chunks (and are longer
    # than a batch). Folded here, or in one or two worker processes (a range of streams each).
    monkeypatch.setattr(projection, "PAGE_SIZE", page_size)
    monkeypatch.setattr(projection, "STREAM_SIZES_READ", page_size)
    monkeypatch.setattr(projection, "FORKED_FOLDS", forked_folds)
    workers: list[Worker] = []
    asked: list[bytes] = []
    start, ask = Worker.start, Worker.ask

    def counted(setup: Callable[[], Callable[[bytes], bytes]]) -> Worker:
        workers.append(start(setup))
        return workers[-1]

    async def counted_ask(worker: Worker, request: bytes, *, within: float | None) -> bytes:
        asked.append(request)
        return await ask(worker, request, within=within)

    monkeypatch.setattr(Worker, "start", counted)
    monkeypatch.setattr(Worker, "ask", counted_ask)
    monkeypatch.setattr(projection, "FOLD_CHUNK", 25)
    store = await SQLiteReadStore.open(history.path / "read.db")
    try:
        live = Projector(CustomerView(), store, MAPPER, history.keys)
        await live.catch_up(history.events, batch_size=97)
        await equipment_at_their_locations(history)
        await live.catch_up(history.events, batch_size=13)
        outcome = await replay(
            CustomerView(),
            events=history.events,
            store=store,
            mapper=MAPPER,
            keyring=history.keys,
            batch_size=batch_size,
        )
    finally:
        await store.close()
    assert outcome.generation == 2
    checkpoints = dict(
        sqlite3.connect(history.path / "read.db").execute("SELECT * FROM checkpoints")
    )
    head = await history.events.head_position()
    assert checkpoints["customers@g2"] == head, "the log position comes at the end"
    assert checkpoints["customers@g2/streams"] == outcome.events < head, "customer events only"
    assert forked.AVAILABLE and len(workers) == forked_folds
    assert (len(asked) > forked_folds) == (forked_folds > 0), "a worker folds range after range"
    rebuilt, rebuilt_terms = stored(history.path / "read.db", 2)
    projected, projected_terms = stored(history.path / "read.db", 1)
    assert len(projected) == 300 and rebuilt.keys() == projected.keys()
    different = [doc_id for doc_id in projected if rebuilt[doc_id] != projected[doc_id]]
    assert not different, f"{len(different)} documents differ, e.g. {different[:1]}"
    assert rebuilt_terms == projected_terms
    documents = [json.loads(body) for body in rebuilt.values()]
    assert {"merged", "anonymised", "active"} <= {doc["status"] for doc in documents}
    for doc in documents:
        if doc["status"] == "anonymised":
            assert (doc["name"], doc["email"], doc["phone"]) == (None, None, None)
            assert all(contact["email"] is None for contact in doc["contacts"])
    placed = [doc for doc in documents if "fleet" in doc["labels"]]
    assert len(placed) == 6
    assert all(len(doc["equipment_ids"]) == 1 for doc in placed)
    assert all(any(loc["equipment_ids"] for loc in doc["locations"]) for doc in placed)


class FailingOnAMergedCustomer(CustomerView):
    """Fails to fold a customer merged into another, as a defect in a mutator would."""

    def fold(self, document: Any, envelopes: Any) -> Any:
        if any(envelope.event_type.endswith("merged_into.v1") for envelope in envelopes):
            raise RuntimeError("a defect, Claire Martin")
        return super().fold(document, envelopes)


async def test_a_fold_failing_in_a_child_fails_the_rebuild_which_resumes_when_run_again(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projection, "FORKED_FOLDS", 2)
    store = await SQLiteReadStore.open(history.path / "read.db")
    try:
        live = Projector(CustomerView(), store, MAPPER, history.keys)
        await live.catch_up(history.events, batch_size=500)
        arguments: dict[str, Any] = {
            "events": history.events,
            "store": store,
            "mapper": MAPPER,
            "keyring": history.keys,
            "batch_size": 300,
        }
        with pytest.raises(forked.ForkedWorkFailed, match=r"\ARuntimeError\Z"):
            await replay(FailingOnAMergedCustomer(), **arguments)
        assert await store.generations("customers") == (1, 2)
        with pytest.raises(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)  # no child left behind
        outcome = await replay(CustomerView(), **arguments)
    finally:
        await store.close()
    assert outcome.resumed and outcome.generation == 2
    assert stored(history.path / "read.db", 2) == stored(history.path / "read.db", 1)


class FailingThirdWrite(SQLiteReadStore):
    """A read store whose third encoded write fails (a full disk, say)."""

    writes = 0

    async def write_encoded(self, *args: Any, **kwargs: Any) -> None:
        FailingThirdWrite.writes += 1
        if FailingThirdWrite.writes == 3:
            raise OSError("disk full")
        await super().write_encoded(*args, **kwargs)


async def test_a_write_failing_while_the_next_folds_go_on_fails_the_rebuild_which_resumes(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches' writes run on while the next batches are forked: the one that failed
    fails the rebuild, with no child left behind, and the next run completes it."""
    monkeypatch.setattr(projection, "FORKED_FOLDS", 2)
    monkeypatch.setattr(FailingThirdWrite, "writes", 0)
    store = await SQLiteReadStore.open(history.path / "read.db")
    failing = await FailingThirdWrite.open(history.path / "read.db")
    try:
        live = Projector(CustomerView(), store, MAPPER, history.keys)
        await live.catch_up(history.events, batch_size=500)
        arguments: dict[str, Any] = {
            "events": history.events,
            "mapper": MAPPER,
            "keyring": history.keys,
            "batch_size": 300,
        }
        with pytest.raises(OSError, match="disk full"):
            await replay(CustomerView(), store=failing, **arguments)
        assert FailingThirdWrite.writes == 3
        assert await store.generations("customers") == (1, 2)
        assert await store.checkpoint("customers@g2") is None
        with pytest.raises(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)  # no child left behind
        outcome = await replay(CustomerView(), store=store, **arguments)
    finally:
        await failing.close()
        await store.close()
    assert outcome.resumed and outcome.generation == 2
    assert stored(history.path / "read.db", 2) == stored(history.path / "read.db", 1)
