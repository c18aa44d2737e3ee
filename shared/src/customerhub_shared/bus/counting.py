"""A publisher that counts messages handed to the bus and those it acknowledged (`/metrics`)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter

from customerhub_shared.bus.port import EventPublisher
from customerhub_shared.cloudevents import KafkaMessage


class CountingPublisher(EventPublisher):
    def __init__(self, inner: EventPublisher, registry: CollectorRegistry) -> None:
        self.inner = inner
        self.published = Counter(
            "customerhub_relay_published_messages",
            "Messages the relay handed to Kafka (a failed batch is handed over again)",
            registry=registry,
        )
        self.acknowledged = Counter(
            "customerhub_relay_acknowledged_messages",
            "Messages Kafka acknowledged to the relay",
            registry=registry,
        )

    async def publish(self, messages: Sequence[KafkaMessage]) -> None:
        self.published.inc(len(messages))
        await self.inner.publish(messages)
        self.acknowledged.inc(len(messages))

    async def close(self) -> None:
        await self.inner.close()
