"""What a create does at once: its customer's key is made while its name is claimed, and a
create refused for its name stores no event of that customer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI

from customerhub_shared.eventstore import AppendResult, NewEvent
from tests.e2e.conftest import ADMIN, new_customer


class _ClaimAfterKey:
    """An event store whose name claims wait (a while) for a customer's key to exist."""

    def __init__(self, store: Any, keyring: Any) -> None:
        self._store = store
        self._keyring = keyring
        self.claims_waited: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append(
        self, stream: str, events: Sequence[NewEvent], *, expected_version: int | None
    ) -> AppendResult:
        if stream.startswith("customer_name-"):
            self.claims_waited.append(await self._key_made_within(2.0))
        return await self._store.append(stream, events, expected_version=expected_version)

    async def _key_made_within(self, seconds: float) -> bool:
        """True once a key is made; TimeoutError (the create fails) if none is."""
        async with asyncio.timeout(seconds):
            while not self._keyring.made:
                await asyncio.sleep(0.005)
        return True


class _RecordingKeyRing:
    def __init__(self, keyring: Any) -> None:
        self._keyring = keyring
        self.made: list[UUID] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._keyring, name)

    async def create_key(self, subject: UUID) -> bytes:
        key: bytes = await self._keyring.create_key(subject)
        self.made.append(subject)
        return key


async def test_a_creates_key_is_made_while_its_name_is_claimed(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    writer = app.state.customer_command.ports.customers.writer
    await writer.keyring.create_key(UUID(int=1))  # not the customer's: warms the keyring up
    # The reservations' secret is made before the customer's key: looked up first, then kept.
    created = await client.post("/v1/customers", json=new_customer("Atelier Un"), headers=ADMIN)
    assert created.status_code == 201, created.text
    keyring = _RecordingKeyRing(writer.keyring)
    store = _ClaimAfterKey(writer.store, keyring)
    writer.keyring, writer.store = keyring, store

    answer = await client.post("/v1/customers", json=new_customer("Atelier Deux"), headers=ADMIN)

    assert answer.status_code == 201, answer.text
    assert keyring.made == [UUID(answer.json()["id"])]
    assert store.claims_waited == [True]


async def test_a_create_refused_for_its_name_appends_no_customer_event(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    first = await client.post("/v1/customers", json=new_customer("Atelier Trois"), headers=ADMIN)
    assert first.status_code == 201, first.text
    writer = app.state.customer_command.ports.customers.writer
    before = await writer.store.read_all(after=None, limit=10_000)

    again = await client.post("/v1/customers", json=new_customer("ATELIER trois"), headers=ADMIN)

    assert again.status_code == 409, again.text
    after = await writer.store.read_all(after=None, limit=10_000)
    assert [e.stream for e in after] == [e.stream for e in before]
