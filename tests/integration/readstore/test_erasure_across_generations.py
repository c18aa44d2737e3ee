"""Anonymising erases the customer in every read-model generation kept, not only the active
one: the previous generation (kept for a switch back) and one a replay is building."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewCustomer
from customer_query.domain.view import CustomerView
from customerhub_shared import projection
from customerhub_shared.events import default_registry
from customerhub_shared.forked import Worker
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector, collection_name
from customerhub_shared.readstore import ReadStore
from customerhub_shared.readstore.mongo import MongoReadStore
from customerhub_shared.readstore.sqlite import SQLiteReadStore
from customerhub_shared.replay import replay
from customerhub_shared.settings import Settings

CTX = CommandContext(actor="alice", correlation_id="erasure-test")
SETTINGS = Settings(jwt_secret="x" * 32)


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
async def read_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadStore]:
    if request.param == "mongodb":
        url = request.getfixturevalue("mongodb_url")
        store: ReadStore = await MongoReadStore.open(url, f"erase_{uuid.uuid4().hex[:12]}")
    else:
        store = await SQLiteReadStore.open(tmp_path / "read.db")
    yield store
    await store.close()


@pytest.fixture
async def infra(tmp_path: Path) -> AsyncIterator[Infrastructure]:
    opened = await open_infrastructure(Settings(data_dir=tmp_path, jwt_secret="x" * 32))
    yield opened
    await opened.close()


async def _create(infra: Infrastructure, name: str) -> uuid.UUID:
    ports = customer_command.build_command_service(infra, SETTINGS).ports
    customer_id = uuid.uuid4()
    details = NewCustomer.model_validate(
        {"kind": "person", "name": name, "email": "canary@erased.example"}
        | {"main_location": {"street": "7 rue Canari", "city": "Paris"}}
    )
    await handle(c.CreateCustomer(customer_id, details), CTX, ports)
    return customer_id


async def test_anonymising_erases_the_customer_in_the_previous_generation_too(
    infra: Infrastructure, read_store: ReadStore
) -> None:
    mapper, view = EventMapper(default_registry()), CustomerView()
    canary = await _create(infra, f"Canary {uuid.uuid4().hex[:8]}")
    bystander = await _create(infra, "Boulangerie Martin")
    live = Projector(view, read_store, mapper, infra.keyring)
    await live.catch_up(infra.event_store)
    outcome = await replay(
        view, events=infra.event_store, store=read_store, mapper=mapper, keyring=infra.keyring
    )
    assert (outcome.previous, outcome.generation) == (1, 2)
    await live.refresh_generation()

    ports = customer_command.build_command_service(infra, SETTINGS).ports
    await handle(c.AnonymiseCustomer(canary), CTX, ports)
    await live.catch_up(infra.event_store)

    for generation in (1, 2):
        collection = collection_name(view.name, generation)
        erased = await read_store.get(collection, str(canary))
        assert erased is not None and erased["status"] == "anonymised"
        assert "canary" not in json.dumps(erased).lower(), generation
        kept = await read_store.get(collection, str(bystander))
        assert kept is not None and kept["name"] == "Boulangerie Martin"


@pytest.mark.parametrize("forked_folds", [0, 2])
async def test_a_replay_folding_an_anonymisation_erases_the_active_generation_too(
    infra: Infrastructure,
    read_store: ReadStore,
    monkeypatch: pytest.MonkeyPatch,
    forked_folds: int,
) -> None:
    """The active generation missed the anonymisation (its projector was not running): the
    replay that folds it, in this process or in worker processes, erases it there as well."""
    monkeypatch.setattr(projection, "FORKED_FOLDS", forked_folds)
    workers: list[Worker] = []
    start = Worker.start

    def counted(setup: Callable[[], Callable[[bytes], bytes]]) -> Worker:
        workers.append(start(setup))
        return workers[-1]

    monkeypatch.setattr(Worker, "start", counted)
    mapper, view = EventMapper(default_registry()), CustomerView()
    canary = await _create(infra, f"Canary {uuid.uuid4().hex[:8]}")
    bystander = await _create(infra, "Boulangerie Martin")
    await Projector(view, read_store, mapper, infra.keyring).catch_up(infra.event_store)
    ports = customer_command.build_command_service(infra, SETTINGS).ports
    await handle(c.AnonymiseCustomer(canary), CTX, ports)

    await replay(
        view, events=infra.event_store, store=read_store, mapper=mapper, keyring=infra.keyring
    )

    assert len(workers) == forked_folds
    for generation in (1, 2):
        collection = collection_name(view.name, generation)
        erased = await read_store.get(collection, str(canary))
        assert erased is not None and erased["status"] == "anonymised", generation
        assert "canary" not in json.dumps(erased).lower(), generation
        kept = await read_store.get(collection, str(bystander))
        assert kept is not None and kept["name"] == "Boulangerie Martin"
