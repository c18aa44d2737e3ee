"""`customerhub projections` shows every follower of the log and how far behind it is: the
read models, the notification consumer, the ownership reconciler, the relay, and on Kafka
each consumer group's lag in messages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from customerhub.operations import show_projections
from customerhub_shared.cloudevents import Topics
from customerhub_shared.settings import Settings
from tests.e2e.conftest import USER
from tests.e2e.test_relay import relay_everything
from tests.integration.kafka.topics import partition_count

pytestmark = pytest.mark.kafka


def rows(table: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}


async def commit_everything(bootstrap: str, group: str, topics: Topics) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    partitions = [
        TopicPartition(topic, p)
        for topic in topics.all()
        for p in range(await partition_count(bootstrap, topic))
    ]
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def test_projections_lists_every_follower_and_each_kafka_groups_lag(
    client: httpx.AsyncClient,
    create: Callable[..., Any],
    settings: Settings,
    kafka_bootstrap: str,
    kafka_topics: Topics,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customer = await create()
    item = await client.post("/v1/equipment", json={"name": "Four"}, headers=USER)
    assigned = await client.post(
        f"/v1/customers/{customer['id']}/equipment",
        json={"equipment_ids": [item.json()["id"]]},
        headers=USER,
    )
    assert assigned.status_code == 200, assigned.text
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    cluster = settings.model_copy(
        update={
            "kafka_bootstrap_servers": kafka_bootstrap,
            "kafka_customer_topic": kafka_topics.customer,
            "kafka_equipment_topic": kafka_topics.equipment,
            "kafka_consumer_group_prefix": prefix,
            "relay_checkpoint_name": "e2e",
        }
    )

    assert await show_projections(cluster) == 0
    before = rows(capsys.readouterr().out)
    head = before["customers"][3]
    assert before["relay"][:5] == ["-", "-", "-", head, head], "nothing relayed yet"
    checkpoint, _, lag = before["ownership-reconciler"][2:5]
    assert int(checkpoint) + int(lag) == int(head) and int(lag) <= 1  # its own last write
    assert before["notifications"][3] == head
    assert all(before[f"{prefix}.{c}"] == ["0", "0", "0"] for c in ("customer-query.customers",))

    published = await relay_everything(settings, kafka_bootstrap, kafka_topics)
    await commit_everything(kafka_bootstrap, f"{prefix}.equipment.items", kafka_topics)
    assert await show_projections(cluster) == 0
    after = rows(capsys.readouterr().out)
    assert after["relay"][2:] == [head, head, "0", "0.0s"]
    total = str(published)
    assert after[f"{prefix}.customer-query.customers"] == ["0", total, total]
    assert after[f"{prefix}.notifications.deliveries"] == ["0", total, total]
    assert after[f"{prefix}.equipment.items"] == [total, total, "0"]
