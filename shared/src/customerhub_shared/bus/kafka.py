"""Kafka through aiokafka: an idempotent, acks=all producer, and topic creation.

`enable_idempotence` makes the broker drop a retried batch it already has and keeps each
partition's batches in order across retries, so a key's messages land in the order sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import (  # type: ignore[import-untyped]
    KafkaError,
    TopicAlreadyExistsError,
    for_code,
)

from customerhub_shared.bus.port import EventPublisher, PublishFailed
from customerhub_shared.cloudevents import KafkaMessage

log = structlog.get_logger(__name__)


class KafkaPublisher(EventPublisher):
    def __init__(self, producer: Any) -> None:
        self._producer = producer

    @classmethod
    async def open(
        cls, bootstrap_servers: str, *, client_id: str = "customerhub-relay"
    ) -> KafkaPublisher:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            # A few milliseconds of lingering fill batches while the relay catches up.
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )
        try:
            await producer.start()
        except KafkaError as error:
            await producer.stop()
            raise PublishFailed(f"cannot reach Kafka at {bootstrap_servers}: {error!r}") from error
        return cls(producer)

    async def publish(self, messages: Sequence[KafkaMessage]) -> None:
        futures: list[asyncio.Future[Any]] = []
        try:
            for message in messages:
                futures.append(
                    await self._producer.send(
                        message.topic,
                        value=message.value,
                        key=message.key,
                        headers=list(message.headers),
                    )
                )
        except KafkaError as error:
            await asyncio.gather(*futures, return_exceptions=True)
            raise PublishFailed(f"Kafka refused a message: {error!r}") from error
        # Every future, not just the first failure: the checkpoint may move only when all
        # of the batch is acknowledged.
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise PublishFailed(
                f"Kafka did not acknowledge {len(failures)} of {len(messages)} messages:"
                f" {failures[0]!r}"
            ) from failures[0]

    async def close(self) -> None:
        await self._producer.stop()


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created.

    Replication follows the cluster: three copies where there are three brokers or more, as
    many as there are brokers otherwise (one on a local single-node cluster).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="customerhub-admin")
    try:
        await admin.start()
    except KafkaError as error:
        await admin.close()
        raise PublishFailed(f"cannot reach Kafka at {bootstrap_servers}: {error!r}") from error
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in dict.fromkeys(topics) if topic not in existing]
        if not missing:
            return []
        brokers = len((await admin.describe_cluster())["brokers"])
        replicas = max(1, min(3, brokers))
        response = await admin.create_topics(
            [NewTopic(topic, partitions, replicas) for topic in missing]
        )
        created = []
        for topic, code, *detail in response.topic_errors:
            if code == 0:
                created.append(topic)
            elif code != TopicAlreadyExistsError.errno:  # another relay was quicker
                raise for_code(code)(f"cannot create topic {topic}: {detail}")
        await _until_led(admin, created)
        log.info("kafka.topics_created", topics=created, partitions=partitions, replicas=replicas)
        return created
    finally:
        await admin.close()


async def _until_led(admin: Any, topics: list[str], *, timeout: float = 15.0) -> None:
    """Wait until every partition of new topics has a leader, so the first sends need no retry."""
    deadline = asyncio.get_running_loop().time() + timeout
    while topics:
        described = await admin.describe_topics(topics)
        if all(
            topic["error_code"] == 0
            and topic["partitions"]
            and all(partition["leader"] >= 0 for partition in topic["partitions"])
            for topic in described
        ):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics {topics} have no leader after {timeout}s")
        await asyncio.sleep(0.05)
