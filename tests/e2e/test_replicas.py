"""Two replicas of the write side on one fresh PostgreSQL database, driven at the same time:
an Idempotency-Key sent to both at once, and overlapping bulk assignments through both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import equipment.bootstrap as equipment
from customerhub.operations import run_ownership_reconciler
from customerhub.write_side import create_app
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, SECRET, USER, new_customer

pytestmark = pytest.mark.postgres

ROUNDS = 12
ITEMS = 12


@pytest.fixture
def cluster_settings(fresh_postgres_dsn: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        log_level="WARNING",
        event_store="postgres",
        postgres_dsn=fresh_postgres_dsn,
        ownership_reconciler="separate",  # several command replicas, one reconciler
    )


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as http:
            yield http


@dataclass
class Replica:
    app: FastAPI
    http: httpx.AsyncClient

    async def owner_of(self, equipment_id: str) -> str | None:
        loaded = await self.app.state.equipment.ports.items.get(UUID(equipment_id))
        return None if loaded.item.owner is None else str(loaded.item.owner)

    async def listed(self, customer_id: str) -> set[str]:
        holder = await customer_command.equipment_ledger(self.app).holding(UUID(customer_id))
        assert holder is not None
        return {str(equipment_id) for equipment_id in holder.equipment_ids}


@pytest.fixture
async def replica_pair(cluster_settings: Settings) -> AsyncIterator[list[Replica]]:
    async with AsyncExitStack() as stack:
        pair = []
        for name in ("a", "b"):
            own = cluster_settings.model_copy(update={"data_dir": cluster_settings.data_dir / name})
            app = create_app(own)
            pair.append(Replica(app, await stack.enter_async_context(served(app))))
        yield pair


@pytest.fixture
def replicas(replica_pair: list[Replica]) -> list[httpx.AsyncClient]:
    return [replica.http for replica in replica_pair]


@asynccontextmanager
async def reconciler(settings: Settings) -> AsyncIterator[None]:
    """The one ownership reconciler beside the replicas (`customerhub reconcile`)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_ownership_reconciler(settings, stop))
    try:
        yield
    finally:
        stop.set()
        assert await task == 0


async def test_one_idempotency_key_sent_to_two_replicas_at_once_gets_the_first_answer_twice(
    replicas: list[httpx.AsyncClient],
) -> None:
    first, second = replicas
    for round_number in range(ROUNDS):
        body = new_customer(f"Boulangerie {round_number}")
        headers = {**ADMIN, "Idempotency-Key": f"create-{round_number}"}
        answers = await asyncio.gather(
            first.post("/v1/customers", json=body, headers=headers),
            second.post("/v1/customers", json=body, headers=headers),
        )
        assert [answer.status_code for answer in answers] == [201, 201], [
            answer.text for answer in answers
        ]
        assert answers[0].content == answers[1].content
        assert "customer_number" in answers[0].json()
        replayed = sorted(answer.headers.get("idempotent-replayed", "") for answer in answers)
        assert replayed == ["", "true"]
        retry = await second.post("/v1/customers", json=body, headers=headers)
        assert retry.content == answers[0].content
        assert retry.headers["idempotent-replayed"] == "true"


async def test_overlapping_bulk_assignments_through_two_replicas_keep_what_their_answers_say(
    replica_pair: list[Replica], cluster_settings: Settings
) -> None:
    """Not all-or-nothing under races: a 409's `assigned` names exactly what the request gave
    its customer, who keeps it; `owners` names what the other request took."""
    first, second = replica_pair
    registry_settings = {"data_dir": cluster_settings.data_dir / "registry"}
    registry = equipment.create_app(cluster_settings.model_copy(update=registry_settings))
    split_rounds = 0
    async with reconciler(cluster_settings), served(registry) as items_http:
        for round_number in range(6):
            martin, durand = [
                await created_customer(first.http, f"{name} {round_number}")
                for name in ("Boulangerie Martin", "Boulangerie Durand")
            ]
            items = [await registered_item(items_http, n) for n in range(ITEMS)]
            answers = await asyncio.gather(
                assign(first.http, martin, items),
                assign(second.http, durand, items[::-1]),
            )
            given: dict[str, set[str]] = {}
            for customer_id, answer in zip((martin, durand), answers, strict=True):
                assert answer.status_code in (200, 409), answer.text
                body = answer.json()
                given[customer_id] = set(body["assigned"])
                if answer.status_code == 200:
                    assert given[customer_id] == set(items)
                    continue
                other = durand if customer_id == martin else martin
                assert body["type"].endswith("/equipment-owned-by-another-customer")
                assert set(body["owners"].values()) == {other}
                assert not set(body["owners"]) & given[customer_id]
                for item in body["owners"]:
                    assert await first.owner_of(item) == other
            assert not given[martin] & given[durand]
            for item in items:
                owner = await second.owner_of(item)
                assert owner is None or item in given[owner], "an owner its answer did not name"
            for customer_id, mine in given.items():
                assert {item for item in items if await first.owner_of(item) == customer_id} == mine
                assert await second.listed(customer_id) == mine
            split_rounds += bool(given[martin]) and bool(given[durand])
    assert split_rounds, "no round raced: the test saw no partial assignment"


async def created_customer(http: httpx.AsyncClient, name: str) -> str:
    answer = await http.post("/v1/customers", json=new_customer(name), headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def registered_item(http: httpx.AsyncClient, number: int) -> str:
    body = {"name": f"Four {number}", "serial_number": f"SN-{number:04}"}
    answer = await http.post("/v1/equipment", json=body, headers=USER)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def assign(http: httpx.AsyncClient, customer_id: str, items: list[str]) -> httpx.Response:
    body = {"equipment_ids": items}
    return await http.post(f"/v1/customers/{customer_id}/equipment", json=body, headers=USER)


async def test_a_key_another_replica_is_still_answering_is_409_in_progress_after_the_wait(
    cluster_settings: Settings,
) -> None:
    settings = cluster_settings.model_copy(update={"idempotency_wait_seconds": 0.3})
    app = create_app(settings)
    async with served(app) as http:
        # What another replica's claim looks like in the shared store, mid-request.
        store = app.state.customer_command.idempotency
        scope, key = "alice\x1fPOST /v1/customers", "create-slow"
        token = await store.claim(scope, key, "another replica's fingerprint")
        assert token is not None
        headers = {**ADMIN, "Idempotency-Key": key}
        busy = await http.post("/v1/customers", json=new_customer(), headers=headers)
        assert busy.status_code == 409, busy.text
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert busy.json()["type"].endswith("/request-in-progress")
        assert busy.headers["retry-after"] == "1"
        await store.release(scope, key, token)  # that request failed: the key is free again
        created = await http.post("/v1/customers", json=new_customer(), headers=headers)
        assert created.status_code == 201, created.text
