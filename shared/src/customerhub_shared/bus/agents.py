"""Running one consumer-group agent for a service: the topics made, the handler prepared, the
group joined, deliveries handled until told to stop. Services run it beside their HTTP routes;
`customerhub consume` runs it as a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog

from customerhub_shared.bus.handlers import PreparedHandler
from customerhub_shared.bus.kafka import ensure_topics
from customerhub_shared.bus.kafka_consumer import ConsumeFailed, ConsumerNotConfigured, KafkaAgent
from customerhub_shared.bus.port import PublishFailed
from customerhub_shared.checkpoints import open_checkpoint_store
from customerhub_shared.consumers.backoff import backoff
from customerhub_shared.settings import Settings

log = structlog.get_logger(__name__)
NEEDS_KAFKA = "CUSTOMERHUB_CONSUMER_TRANSPORT=kafka needs KAFKA_BOOTSTRAP_SERVERS (host:port,...)"


def group_id(settings: Settings, consumer: str) -> str:
    """`<prefix>.<service>.<consumer>`: one group per consumer of each deployment."""
    return f"{settings.kafka_consumer_group_prefix}.{consumer}"


async def run_agent(
    settings: Settings,
    *,
    consumer: str,
    topics: Sequence[str],
    handler: PreparedHandler,
    stop: asyncio.Event,
    keep_trying: bool = False,
) -> None:
    """Consume `topics` as `consumer` until `stop` is set.

    `keep_trying`: a Kafka that cannot be reached is tried again with growing pauses (a
    service's background agent outlives a broker restart) instead of raising ConsumeFailed.
    """
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise ConsumerNotConfigured("the consumer needs KAFKA_BOOTSTRAP_SERVERS (host:port,...)")
    failures = 0
    while not stop.is_set():
        try:
            await _consume(settings, bootstrap, consumer, topics, handler, stop)
            return
        except (ConsumeFailed, PublishFailed) as error:
            if not keep_trying:
                raise ConsumeFailed(str(error)) from error
            failures += 1
            log.error("kafka_agent.unreachable", consumer=consumer, error=str(error)[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff(failures + 2, longest=30.0))


@asynccontextmanager
async def consuming(
    settings: Settings, *, consumer: str, topics: Sequence[str], handler: PreparedHandler
) -> AsyncIterator[None]:
    """Run the agent in the background for the duration of the block (a service's life)."""
    if not settings.kafka_bootstrap_servers:
        raise ConsumerNotConfigured(
            "CUSTOMERHUB_CONSUMER_TRANSPORT=kafka needs KAFKA_BOOTSTRAP_SERVERS"
        )
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_agent(
            settings, consumer=consumer, topics=topics, handler=handler, stop=stop, keep_trying=True
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task


async def _consume(
    settings: Settings,
    bootstrap: str,
    consumer: str,
    topics: Sequence[str],
    handler: PreparedHandler,
    stop: asyncio.Event,
) -> None:
    # The relay creates the topics too; whoever starts first creates them alike.
    await ensure_topics(bootstrap, topics, partitions=settings.kafka_topic_partitions)
    if not await _unless_stopped(handler.prepare(), stop):
        return
    # The relay's checkpoint bounds what a delivery may claim covered (LogWatermark).
    checkpoints = await open_checkpoint_store(settings)
    try:

        async def relayed() -> int | None:
            return await checkpoints.get(settings.relay_checkpoint_name)

        agent = await KafkaAgent.open(
            bootstrap,
            topics=topics,
            group_id=group_id(settings, consumer),
            handler=handler,
            batch_size=settings.projector_batch_size,
            relayed=relayed,
            on_idle=handler.idle,
        )
        try:
            await agent.run(stop)
        finally:
            log.info("kafka_agent.stopped", agent=agent.name, delivered=agent.delivered)
            await agent.close()
    finally:
        await checkpoints.close()


async def _unless_stopped(work: Coroutine[Any, Any, object], stop: asyncio.Event) -> bool:
    """Run `work` (a long catch-up) unless `stop` is set first; False if it was cut short.
    A catch-up cut short loses nothing: what it wrote is redelivered and skipped next time."""
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    log.info("kafka_agent.catch_up_stopped")
    return False
