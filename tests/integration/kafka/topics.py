"""Topics of their own for each test, and reading a whole topic back with aiokafka."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]


async def delete_topics(bootstrap_servers: str, topics: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="customerhub-tests")
    await admin.start()
    try:
        await admin.delete_topics(list(topics))
    finally:
        await admin.close()


async def partition_count(bootstrap_servers: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="customerhub-tests")
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, f"cannot describe topic {topic}: {described}"
    return len(described["partitions"])


async def read_topic(bootstrap_servers: str, topic: str, *, timeout: float = 30.0) -> list[Any]:
    """Every record of `topic` from the beginning up to its end now, partition by partition
    (records of one partition in offset order)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    partitions = [
        TopicPartition(topic, p) for p in range(await partition_count(bootstrap_servers, topic))
    ]
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[Any, int] = await consumer.end_offsets(partitions)
        records: dict[Any, list[Any]] = {tp: [] for tp in partitions}
        deadline = time.monotonic() + timeout
        while await _behind(consumer, partitions, ends):
            assert time.monotonic() < deadline, f"could not read {topic} to its end in time"
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, batch in batches.items():
                records[tp].extend(batch)
        return [record for tp in partitions for record in records[tp]]
    finally:
        await consumer.stop()


async def _behind(consumer: Any, partitions: Sequence[Any], ends: dict[Any, int]) -> bool:
    for tp in partitions:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False


def by_key(records: Sequence[Any]) -> dict[bytes, list[Any]]:
    grouped: dict[bytes, list[Any]] = {}
    for record in records:
        grouped.setdefault(record.key, []).append(record)
    return grouped


async def group_lag(bootstrap_servers: str, group: str, topics: Sequence[str]) -> int:
    """Messages of `topics` past what consumer group `group` has committed (all of them for a
    partition it has committed nothing on)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="customerhub-tests")
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in range(await partition_count(bootstrap_servers, topic))
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        ends: dict[Any, int] = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    done = {tp: committed[tp].offset for tp in partitions if tp in committed}
    return sum(ends[tp] - max(done.get(tp, 0), 0) for tp in partitions)
