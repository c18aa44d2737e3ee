"""The relay's composition root: settings in, a running relay out (`customerhub relay`)."""

from __future__ import annotations

import asyncio
import time
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import CollectorRegistry, start_http_server

from customer_command.relay.relay import Relay
from customerhub_shared.bus.counting import CountingPublisher
from customerhub_shared.bus.kafka import KafkaPublisher, ensure_topics
from customerhub_shared.checkpoints import open_checkpoint_store
from customerhub_shared.cloudevents import Topics
from customerhub_shared.infrastructure import open_event_store
from customerhub_shared.logging import configure_logging
from customerhub_shared.settings import Settings

log = structlog.get_logger(__name__)


class RelayNotConfigured(RuntimeError):
    """The relay was started without a Kafka to publish to."""


def topics_from(settings: Settings) -> Topics:
    return Topics(customer=settings.kafka_customer_topic, equipment=settings.kafka_equipment_topic)


def serve_metrics(registry: CollectorRegistry, settings: Settings) -> WSGIServer | None:
    """`GET /metrics` on CUSTOMERHUB_RELAY_METRICS_PORT (the relay serves no other HTTP)."""
    if settings.relay_metrics_port is None:
        return None
    server, _ = start_http_server(settings.relay_metrics_port, settings.host, registry)
    log.info("relay.metrics", port=server.server_port)
    return server


async def run_relay(settings: Settings, stop: asyncio.Event, *, once: bool = False) -> int:
    """Relay until `stop` is set; with `once`, relay what the log holds now and return."""
    configure_logging(settings.log_level, settings.log_format)
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise RelayNotConfigured("the relay needs KAFKA_BOOTSTRAP_SERVERS (host:port,...)")
    topics = topics_from(settings)
    await ensure_topics(bootstrap, topics.all(), partitions=settings.kafka_topic_partitions)
    events = await open_event_store(settings)
    checkpoints = await open_checkpoint_store(settings)
    registry = CollectorRegistry()
    publisher = CountingPublisher(await KafkaPublisher.open(bootstrap), registry)
    relay = Relay(
        events,
        checkpoints,
        publisher,
        topics=topics,
        name=settings.relay_checkpoint_name,
        batch_size=settings.relay_batch_size,
    )
    began = time.monotonic()
    log.info("relay.started", relay=relay.name, checkpoint=await relay.position())
    metrics = serve_metrics(registry, settings)
    try:
        if once:
            await relay.catch_up(stop=stop)
        else:
            await relay.follow(stop=stop)
    finally:
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
        seconds = time.monotonic() - began
        log.info(
            "relay.stopped",
            relay=relay.name,
            published=relay.published,
            checkpoint=await relay.position(),
            seconds=round(seconds, 3),
        )
        await publisher.close()
        await checkpoints.close()
        await events.close()
    return 0
