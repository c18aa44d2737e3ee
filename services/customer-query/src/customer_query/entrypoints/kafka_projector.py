"""The customers projector as a Kafka consumer, its own process: `customerhub consume customers`.

The local cluster and production run it beside a customer-query that only reads
(CUSTOMERHUB_CONSUMER_TRANSPORT=kafka), so readers scale apart from the one writer of the
read model. The agent decodes, calls the same projector the in-process follower runs, and
commits; the event store is read only to catch up before consuming (see ConsumerFeed).
"""

from __future__ import annotations

import asyncio

from customer_query.domain.view import CustomerView
from customerhub_shared.bus.agents import run_agent
from customerhub_shared.bus.handlers import ConsumerFeed
from customerhub_shared.consumers import open_parked_store, runner
from customerhub_shared.events import default_registry
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.logging import configure_logging
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projector
from customerhub_shared.settings import Settings

CONSUMER = "customer-query.customers"


async def run_customers_projector(settings: Settings, stop: asyncio.Event) -> int:
    """Keep the customers read model up to date from Kafka until `stop` is set."""
    configure_logging(settings.log_level, settings.log_format)
    infra = await open_infrastructure(settings)
    read_store = await open_read_store(settings)
    parked = await open_parked_store(settings)
    try:
        projector = Projector(
            CustomerView(), read_store, EventMapper(default_registry()), infra.keyring
        )
        feed = ConsumerFeed(runner(projector, settings, events=infra.event_store, parked=parked))
        topics = [settings.kafka_customer_topic]
        await run_agent(settings, consumer=CONSUMER, topics=topics, handler=feed, stop=stop)
    finally:
        await parked.close()
        await read_store.close()
        await infra.close()
    return 0
