"""The write side of the distributed modes (`customerhub.write_side`): the customer commands and
the customers' equipment routes in one process, the registry in the equipment service's own,
both on one event store; the ownership reconciler in-process, or run by `customerhub reconcile`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

import customer_command.bootstrap as customer_command
import equipment.bootstrap as equipment
from customerhub.operations import run_ownership_reconciler
from customerhub.write_side import create_app
from customerhub_shared.settings import Settings
from tests.e2e.conftest import ADMIN, USER, new_customer


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            yield http


@asynccontextmanager
async def reconciler_process(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_ownership_reconciler(settings, stop))
    try:
        yield
    finally:
        stop.set()
        assert await task == 0


async def customer_and_item(
    commands: httpx.AsyncClient, registry: httpx.AsyncClient, name: str
) -> tuple[str, str]:
    created = await commands.post("/v1/customers", json=new_customer(name), headers=ADMIN)
    assert created.status_code == 201, created.text
    item = {"name": f"Pétrin de {name}", "serial_number": "SN-1"}
    registered = await registry.post("/v1/equipment", json=item, headers=USER)
    assert registered.status_code == 201, registered.text
    return created.json()["id"], registered.json()["id"]


async def assign(http: httpx.AsyncClient, customer_id: str, item_id: str) -> httpx.Response:
    body = {"equipment_ids": [item_id]}
    return await http.post(f"/v1/customers/{customer_id}/equipment", json=body, headers=USER)


async def listed(app: FastAPI, customer_id: str) -> frozenset[UUID]:
    holder = await customer_command.equipment_ledger(app).holding(UUID(customer_id))
    assert holder is not None
    return holder.equipment_ids


async def test_assignment_is_served_beside_the_customer_commands(settings: Settings) -> None:
    write_side, registry_app = create_app(settings), equipment.create_app(settings)
    async with served(write_side) as commands, served(registry_app) as registry:
        owner, item_id = await customer_and_item(commands, registry, "Boulangerie Martin")
        other, _ = await customer_and_item(commands, registry, "Boulangerie Durand")
        answer = await assign(commands, owner, item_id)
        assert answer.status_code == 200, answer.text
        assert answer.json()["equipment_ids"] == [item_id]
        assert await listed(write_side, owner) == {UUID(item_id)}
        refused = await assign(commands, other, item_id)
        assert refused.status_code == 409
        assert refused.json()["owners"] == {item_id: owner}
        assert (await registry.get(f"/v1/customers/{owner}/equipment")).status_code in (404, 405)


async def test_a_separate_reconciler_records_what_the_routes_decided(
    settings: Settings,
) -> None:
    # Long enough for a separate reconciler on a loaded machine: it polls the log (0.2 s), it
    # is not woken by this process's appends.
    settings = settings.model_copy(
        update={"ownership_reconciler": "separate", "freshness_timeout_seconds": 2.0}
    )
    write_side, registry_app = create_app(settings), equipment.create_app(settings)
    async with served(write_side) as commands, served(registry_app) as registry:
        owner, item_id = await customer_and_item(commands, registry, "Boulangerie Martin")
        pending = await assign(commands, owner, item_id)
        assert pending.status_code == 202, "nothing recorded it on the customer yet"
        assert await listed(write_side, owner) == frozenset()
        async with reconciler_process(settings):
            second, second_item = await customer_and_item(commands, registry, "Boulangerie Roux")
            answer = await assign(commands, second, second_item)
            assert answer.status_code == 200, answer.text
            assert await listed(write_side, owner) == {UUID(item_id)}
            assert await listed(write_side, second) == {UUID(second_item)}


async def test_a_separate_reconciler_logs_its_start_each_batch_and_its_lag(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings.model_copy(
        update={"ownership_reconciler": "separate", "log_level": "INFO", "log_format": "json"}
    )
    write_side, registry_app = create_app(settings), equipment.create_app(settings)
    async with served(write_side) as commands, served(registry_app) as registry:
        owner, item_id = await customer_and_item(commands, registry, "Boulangerie Martin")
        async with reconciler_process(settings):
            answer = await assign(commands, owner, item_id)
            assert answer.status_code == 200, answer.text
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"event"' in line]
    said = {line["event"]: line for line in lines if line["event"].startswith("reconciler.")}
    assert said["reconciler.started"]["lag"] == said["reconciler.started"]["head"] > 0
    batch = said["reconciler.batch"]
    assert batch["events"] >= 1 and batch["lag"] >= 0 and batch["position"] >= batch["first"]
    stopped = said["reconciler.stopped"]
    assert stopped["position"] >= batch["position"]
    assert stopped["lag"] <= 1  # at most its own last write, which it has not read back yet
