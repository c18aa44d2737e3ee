"""The projector transport setting: which process keeps the customers read model fresh.

With CUSTOMERHUB_CONSUMER_TRANSPORT=kafka, customer-query only reads (a `customerhub consume
customers` process feeds its read model); `customerhub project` refuses to follow the log
beside that consumer; `customerhub consume` needs a Kafka to consume from.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
import customer_query.bootstrap as customer_query
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewCustomer
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.projection import checkpoint_name
from customerhub_shared.settings import Settings


def cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CUSTOMERHUB_") and k != "KAFKA_BOOTSTRAP_SERVERS"
    }
    return subprocess.run(
        [sys.executable, "-m", "customerhub.cli", *args],
        env={**clean, "CUSTOMERHUB_DATA_DIR": str(data_dir), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_consume_without_a_kafka_says_so_and_exits(tmp_path: Path) -> None:
    done = cli(tmp_path, "consume", "customers")
    assert done.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in done.stderr


def test_consume_refuses_an_unknown_consumer(tmp_path: Path) -> None:
    done = cli(tmp_path, "consume", "invoices")
    assert done.returncode == 2
    assert "unknown consumer(s): invoices" in done.stderr


def test_project_refuses_to_follow_the_log_when_the_projectors_consume_kafka(
    tmp_path: Path,
) -> None:
    done = cli(tmp_path, "project", CUSTOMERHUB_CONSUMER_TRANSPORT="kafka")
    assert done.returncode == 2
    assert "customerhub consume customers" in done.stderr


async def add_customer(settings: Settings) -> int:
    infra = await open_infrastructure(settings)
    try:
        service = customer_command.build_command_service(infra, settings)
        details = NewCustomer.model_validate(
            {"name": f"Client {uuid.uuid4().hex[:6]}", "main_location": {"city": "Pau"}}
        )
        ctx = CommandContext(actor="tester", correlation_id="transport-test")
        result = await handle(c.CreateCustomer(uuid.uuid4(), details), ctx, service.ports)
        return result.position
    finally:
        await infra.close()


async def projected(settings: Settings) -> int | None:
    store = await open_read_store(settings)
    try:
        return await store.checkpoint(checkpoint_name("customers", 1))
    finally:
        await store.close()


@pytest.mark.parametrize("transport", ["log", "kafka"])
async def test_customer_query_follows_the_log_itself_only_with_the_log_transport(
    tmp_path: Path, transport: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret="transport-test-0123456789abcdef0123456789",
        consumer_transport=transport,
    )
    position = await add_customer(settings)
    app = customer_query.create_app(settings)
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + (5 if transport == "log" else 1)
        while time.monotonic() < deadline and await projected(settings) != position:
            await asyncio.sleep(0.05)
        reached = await projected(settings)
    assert reached == (position if transport == "log" else None)
