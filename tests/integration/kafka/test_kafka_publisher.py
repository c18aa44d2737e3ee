"""The Kafka adapter on a real broker: topics made once, batches acknowledged, keys in order."""

from __future__ import annotations

import uuid

import pytest

from customerhub_shared.bus import PublishFailed
from customerhub_shared.bus.kafka import KafkaPublisher, ensure_topics
from customerhub_shared.cloudevents import CONTENT_TYPE, KafkaMessage, Topics
from tests.integration.kafka.topics import by_key, delete_topics, partition_count, read_topic

pytestmark = pytest.mark.kafka


async def test_missing_topics_are_created_with_their_partitions_once(kafka_bootstrap: str) -> None:
    names = [f"test.{uuid.uuid4().hex[:12]}.{n}" for n in range(2)]
    try:
        assert sorted(await ensure_topics(kafka_bootstrap, names, partitions=6)) == sorted(names)
        assert await ensure_topics(kafka_bootstrap, names, partitions=6) == []
        assert [await partition_count(kafka_bootstrap, name) for name in names] == [6, 6]
    finally:
        await delete_topics(kafka_bootstrap, names)


async def test_a_batch_is_acknowledged_with_each_keys_messages_in_order(
    kafka_bootstrap: str, kafka_topics: Topics
) -> None:
    keys = [str(uuid.uuid4()).encode() for _ in range(8)]
    sent = [
        KafkaMessage(
            topic=kafka_topics.customer,
            key=keys[n % len(keys)],
            value=f"{n}".encode(),
            headers=(("content-type", CONTENT_TYPE.encode()),),
        )
        for n in range(400)
    ]
    publisher = await KafkaPublisher.open(kafka_bootstrap)
    try:
        await publisher.publish(sent[:150])
        await publisher.publish(sent[150:])
    finally:
        await publisher.close()

    records = await read_topic(kafka_bootstrap, kafka_topics.customer)
    assert len(records) == 400
    for key, of_key in by_key(records).items():
        assert [int(r.value) for r in of_key] == [int(m.value) for m in sent if m.key == key], (
            "a key's messages must keep the order they were sent in"
        )
        assert len({r.partition for r in of_key}) == 1
    assert len({r.partition for r in records}) > 1, "eight keys should spread over partitions"
    assert all(dict(r.headers)["content-type"] == CONTENT_TYPE.encode() for r in records)


async def test_an_unreachable_kafka_is_a_publish_failure() -> None:
    with pytest.raises(PublishFailed):
        await KafkaPublisher.open("127.0.0.1:9")
