"""Name reservations keep names unique without letting the event store confirm a guessed name:
their streams are named by an HMAC under a secret the keyring holds."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from customer_command.adapters.repository import EventWriter
from customer_command.application.context import CommandContext
from customer_command.application.names import (
    RESERVATION_SECRET_SUBJECT,
    NameReservations,
    NameTaken,
    legacy_reservation_stream,
    reservation_stream,
)
from customer_command.domain.names import name_key
from customerhub_shared.events import default_registry
from customerhub_shared.events.customer import CustomerNameReserved
from customerhub_shared.eventstore.sqlite import SQLiteEventStore
from customerhub_shared.keyring.sqlite import SQLiteKeyRing
from customerhub_shared.mapper import EventMapper
from tests.e2e.conftest import ADMIN, new_customer


def _store(app: FastAPI) -> Any:
    return app.state.customer_command.ports.customers.writer


async def _streams(app: FastAPI) -> set[str]:
    recorded = await _store(app).store.read_all(after=None, limit=10_000)
    return {event.stream for event in recorded if event.stream.startswith("customer_name-")}


async def test_a_reservation_stream_is_named_by_a_keyed_hash_of_the_name(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await client.post("/v1/customers", json=new_customer("Café Étoile"), headers=ADMIN)
    assert created.status_code == 201, created.text
    key = name_key("Café Étoile")
    plain = f"customer_name-{hashlib.sha256(key.encode()).hexdigest()[:40]}"
    secret = await _store(app).keyring.key_for(RESERVATION_SECRET_SUBJECT)
    assert secret is not None
    assert await _streams(app) == {reservation_stream(key, secret)}
    assert plain not in await _streams(app)
    again = await client.post("/v1/customers", json=new_customer("CAFE etoile"), headers=ADMIN)
    assert again.status_code == 409


async def test_a_name_reserved_before_the_keyed_hash_stays_taken_while_its_holder_bears_it(
    tmp_path: Path,
) -> None:
    events = await SQLiteEventStore.open(tmp_path / "events.db")
    keyring = SQLiteKeyRing(tmp_path / "keys.db")
    writer = EventWriter(events, EventMapper(default_registry()), keyring)
    bearers: set[UUID] = set()

    async def holds_name(customer_id: UUID, key: str) -> bool:
        return customer_id in bearers

    names = NameReservations(writer, holds_name, keyring)
    key, holder, rival = name_key("Maison Ancienne"), uuid4(), uuid4()
    ctx = CommandContext(actor="migration-test", correlation_id="migration-test")
    try:
        # As an older version left it: the reservation under the plain SHA-256 only.
        reserved = [CustomerNameReserved(customer_id=holder)]
        await writer.append(legacy_reservation_stream(key), reserved, ctx, expected_version=0)
        bearers.add(holder)
        assert await names.holder(key) == holder
        with pytest.raises(NameTaken):
            await names.reserve(key, rival, ctx)
        bearers.clear()  # the holder was renamed, archived or anonymised since
        await names.reserve(key, rival, ctx)
        assert await names.holder(key) == rival
    finally:
        await events.close()
        await keyring.close()
