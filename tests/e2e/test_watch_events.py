"""The README's "watch the customer events" recipe: Kafka's own console consumer, provisioned
by scripts/kafka.sh, prints what the relay published (key, headers, the CloudEvent)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from customerhub_shared.cloudevents import Topics
from customerhub_shared.settings import Settings
from tests.e2e.test_relay import relay_everything

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def readme_recipe() -> str:
    readme = (REPO / "README.md").read_text()
    (line,) = re.findall(r"^bash scripts/kafka\.sh tool console-consumer .*$", readme, re.M)
    return str(line)


async def test_the_console_consumer_recipe_shows_the_customer_events(
    create: Callable[..., Any], settings: Settings, kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    customer = await create()
    await relay_everything(settings, kafka_bootstrap, kafka_topics)
    command = readme_recipe().replace("customerhub.customer.events", kafka_topics.customer)
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    done = subprocess.run(
        ["bash", "-c", f"{command} --max-messages 1 --timeout-ms 30000"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    headers, key, value = done.stdout.strip().split("\t")
    assert key == customer["id"]
    assert headers.startswith("content-type:application/cloudevents+json")
    event = json.loads(value)
    assert event["type"] == "customerhub.customer.created.v1" and event["subject"] == key
