"""The customers projector as a Kafka consumer, its own process: `customerhub consume customers`.

The local cluster and production run it beside a customer-query that only reads
(CUSTOMERHUB_PROJECTOR_TRANSPORT=kafka). The agent decodes, calls the same projector the
in-process follower runs, and commits; the event store is read only to catch up before
consuming (see ProjectorConsumer).
"""

from __future__ import annotations

import asyncio

import structlog

from customer_query.domain.view import CustomerView
from customerhub_shared.bus.kafka import ensure_topics
from customerhub_shared.bus.kafka_consumer import (
    ConsumerNotConfigured,
    KafkaAgent,
    ProjectorConsumer,
)
from customerhub_shared.events import default_registry
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.logging import configure_logging
from customerhub_shared.mapper import EventMapper
from customerhub_shared.settings import Settings

log = structlog.get_logger(__name__)
CONSUMER = "customer-query.customers"


def group_id(settings: Settings) -> str:
    return f"{settings.kafka_consumer_group_prefix}.{CONSUMER}"


async def run_customers_projector(settings: Settings, stop: asyncio.Event) -> int:
    """Keep the customers read model up to date from Kafka until `stop` is set."""
    configure_logging(settings.log_level, settings.log_format)
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise ConsumerNotConfigured("the consumer needs KAFKA_BOOTSTRAP_SERVERS (host:port,...)")
    topic = settings.kafka_customer_topic
    # The relay creates the topic too; whoever starts first creates it with the same partitions.
    await ensure_topics(bootstrap, [topic], partitions=settings.kafka_topic_partitions)
    infra = await open_infrastructure(settings)
    read_store = await open_read_store(settings)
    try:
        handler = ProjectorConsumer(
            CustomerView(),
            read_store,
            EventMapper(default_registry()),
            infra.keyring,
            events=infra.event_store,
            batch_size=settings.projector_batch_size,
        )
        await handler.prepare()
        agent = await KafkaAgent.open(
            bootstrap,
            topics=[topic],
            group_id=group_id(settings),
            handler=handler,
            batch_size=settings.projector_batch_size,
        )
        try:
            await agent.run(stop)
        finally:
            log.info(
                "customers_projector.stopped",
                delivered=agent.delivered,
                watermark=agent.watermark,
            )
            await agent.close()
    finally:
        await read_store.close()
        await infra.close()
    return 0
