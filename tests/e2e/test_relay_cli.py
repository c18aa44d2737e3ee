"""`customerhub relay` as operators run it: its own process, configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewCustomer
from customerhub_shared.cloudevents import Topics, from_message
from customerhub_shared.infrastructure import open_infrastructure
from customerhub_shared.settings import Settings
from tests.integration.kafka.topics import read_topic


def relay(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if "KAFKA_BOOTSTRAP_SERVERS" not in k}
    return subprocess.run(
        [sys.executable, "-m", "customerhub.cli", "relay", *args],
        env={
            **clean,
            "CUSTOMERHUB_DATA_DIR": str(data_dir),
            "CUSTOMERHUB_LOG_LEVEL": "WARNING",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_a_kafka_the_relay_says_so_and_exits(tmp_path: Path) -> None:
    done = relay(tmp_path, "--once")
    assert done.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in done.stderr


async def add_customers(settings: Settings, count: int, *, prefix: str) -> None:
    infra = await open_infrastructure(settings)
    service = customer_command.build_command_service(infra, settings)
    ctx = CommandContext(actor="cli-test", correlation_id="relay-cli")
    try:
        for n in range(count):
            customer_id = uuid.uuid4()
            details = NewCustomer.model_validate(
                {"name": f"{prefix} {n}", "main_location": {"city": "Lyon"}}
            )
            await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
            await handle(c.AddLabel(customer_id, "vip"), ctx, service.ports)
    finally:
        await infra.close()


@pytest.mark.kafka
async def test_relay_once_publishes_the_log_so_far_and_a_second_run_nothing_again(
    tmp_path: Path, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    settings = Settings(
        data_dir=tmp_path, jwt_secret="relay-cli-0123456789abcdef0123456789", log_level="WARNING"
    )
    await add_customers(settings, 5, prefix="Boulangerie")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CUSTOMERHUB_KAFKA_CUSTOMER_TOPIC": kafka_topics.customer,
        "CUSTOMERHUB_KAFKA_EQUIPMENT_TOPIC": kafka_topics.equipment,
    }

    first = relay(tmp_path, "--once", **env)
    assert first.returncode == 0, first.stderr
    assert len(await read_topic(kafka_bootstrap, kafka_topics.customer)) == 10

    await add_customers(settings, 1, prefix="Fromagerie")
    second = relay(tmp_path, "--once", **env)
    assert second.returncode == 0, second.stderr
    records = await read_topic(kafka_bootstrap, kafka_topics.customer)
    assert len(records) == 12, "the second run starts from the checkpoint"
    assert len({from_message(r.value).id for r in records}) == 12
