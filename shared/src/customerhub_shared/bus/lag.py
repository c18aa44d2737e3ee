"""How far each Kafka consumer group is behind its topics: messages past its committed offsets.

For operators (`customerhub projections`); a group that committed nothing on a partition is
behind by every message that partition holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

CLIENT_ID = "customerhub-lag"
# A broker answers "coordinator not available" while it makes its offsets topic (a fresh
# broker's first group question): such retriable answers are asked again for a while.
_RETRY_PAUSES = (0.1, 0.2, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0)


@dataclass(frozen=True, slots=True)
class GroupLag:
    group: str
    committed: int  # messages the group has committed, over every partition
    end: int  # messages the topics hold (end offsets)

    @property
    def lag(self) -> int:
        return self.end - self.committed


async def group_lags(
    bootstrap_servers: str, groups: Sequence[str], topics: Sequence[str]
) -> list[GroupLag]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=CLIENT_ID)
    await admin.start()
    try:
        ends = await _end_offsets(bootstrap_servers, await _partitions(admin, topics))
        lags = []
        for group in groups:
            committed = await _committed_offsets(admin, group)
            done = sum(
                min(max(committed[tp].offset, 0), end)
                for tp, end in ends.items()
                if tp in committed
            )
            lags.append(GroupLag(group, done, sum(ends.values())))
        return lags
    finally:
        await admin.close()


async def _committed_offsets(admin: Any, group: str) -> dict[Any, Any]:
    for pause in _RETRY_PAUSES:
        try:
            offsets: dict[Any, Any] = await admin.list_consumer_group_offsets(group)
            return offsets
        except KafkaError as error:
            if not error.retriable:
                raise
            await asyncio.sleep(pause)
    offsets = await admin.list_consumer_group_offsets(group)
    return offsets


async def _partitions(admin: Any, topics: Sequence[str]) -> list[Any]:
    described = await admin.describe_topics(list(topics))
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0  # a topic not made yet holds nothing
        for partition in topic["partitions"]
    ]


async def _end_offsets(bootstrap_servers: str, partitions: Sequence[Any]) -> dict[Any, int]:
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, client_id=CLIENT_ID)
    await consumer.start()
    try:
        ends: dict[Any, int] = await consumer.end_offsets(list(partitions))
        return ends
    finally:
        await consumer.stop()
