"""Operator commands: rebuild read models (`replay`), show projections' lag, run projectors
or the ownership reconciler on their own."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence

import structlog
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

import customer_command.bootstrap as customer_command
import equipment.bootstrap as equipment
import notifications.bootstrap as notifications
from customer_query.domain.view import CustomerView
from customer_query.entrypoints.kafka_projector import CONSUMER as CUSTOMERS_CONSUMER
from customerhub.console import LogProgress, Summary
from customerhub.followers import embedded_followers, relay_follower
from customerhub_shared.bus.agents import group_id
from customerhub_shared.bus.lag import group_lags
from customerhub_shared.checkpoints import open_checkpoint_store
from customerhub_shared.consumers import following, open_parked_store, runner
from customerhub_shared.events import default_registry
from customerhub_shared.eventstore import EventStore
from customerhub_shared.followers import follower_lags
from customerhub_shared.infrastructure import open_infrastructure, open_read_store
from customerhub_shared.logging import configure_logging
from customerhub_shared.mapper import EventMapper
from customerhub_shared.projection import Projection, Projector
from customerhub_shared.replay import replay
from customerhub_shared.settings import Settings
from equipment.application.reconciler import OwnershipReconciler
from equipment.domain.view import EquipmentView

PROJECTIONS: dict[str, type[Projection]] = {"customers": CustomerView, "equipment": EquipmentView}
STATUS_SECONDS = 30.0
log = structlog.get_logger(__name__)
# The Kafka consumer groups of a distributed deployment (`<prefix>.<consumer>`).
KAFKA_CONSUMERS = (CUSTOMERS_CONSUMER, equipment.CONSUMER, notifications.CONSUMER)


async def replay_projections(settings: Settings, names: Sequence[str]) -> int:
    unknown = [name for name in names if name not in PROJECTIONS]
    if unknown:
        sys.stderr.write(
            f"unknown projection(s): {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}\n"
        )
        return 2
    infra = await open_infrastructure(settings)
    store = await open_read_store(settings)
    summary = Summary(
        "replay", ("projection", "generation", "resumed", "events", "seconds", "events/s")
    )
    try:
        for name in names or list(PROJECTIONS):
            began = time.monotonic()
            with LogProgress(name) as progress:
                outcome = await replay(
                    PROJECTIONS[name](),
                    events=infra.event_store,
                    store=store,
                    mapper=EventMapper(default_registry()),
                    keyring=infra.keyring,
                    progress=progress,
                    batch_size=settings.replay_batch_size,
                )
            seconds = time.monotonic() - began
            rate = outcome.events / max(seconds, 1e-6)
            summary.add(
                (
                    name,
                    f"{outcome.previous} -> {outcome.generation}",
                    "yes" if outcome.resumed else "no",
                    f"{outcome.events:,}",
                    f"{seconds:.1f}",
                    f"{rate:,.0f}",
                ),
                plain=f"{name}: generation {outcome.previous} -> {outcome.generation}"
                f"{' (resumed)' if outcome.resumed else ''}, {outcome.events:,} events"
                f" in {seconds:.1f}s ({rate:,.0f} ev/s)",
            )
    finally:
        await store.close()
        await infra.close()
    summary.show()
    return 0


async def show_projections(settings: Settings) -> int:
    """Every follower of the log and how far behind it is: the projections, the notification
    consumer, the ownership reconciler and the relay (log positions), then the Kafka consumer
    groups (messages) when Kafka is configured."""
    infra = await open_infrastructure(settings)
    store = await open_read_store(settings)
    checkpoints = await open_checkpoint_store(settings)
    try:
        summary = Summary(
            "followers of the log",
            ("follower", "active", "building", "checkpoint", "head", "lag", "behind"),
            plain_header=f"{'follower':<22}{'active':>7}{'building':>10}"
            f"{'checkpoint':>12}{'head':>12}{'lag':>10}{'behind':>10}",
        )
        # The same followers and lag as `/metrics` and `/health/ready` (followers.py).
        followers = embedded_followers(store, checkpoints, settings)
        if not settings.kafka_bootstrap_servers:
            followers += relay_follower(checkpoints, settings, always=True)
        for lag in await follower_lags(followers, infra.event_store):
            active, building = "-", "-"
            if lag.name in PROJECTIONS:
                generations = await store.generations(lag.name)
                active, building = str(generations[0]), str(generations[1] or "-")
            cells = [active, building, str(lag.position or "-"), str(lag.head or "-")]
            cells += [str(lag.events), f"{lag.seconds:.1f}s"]
            plain = f"{lag.name:<22}{active:>7}{building:>10}{cells[2]:>12}{cells[3]:>12}"
            summary.add([lag.name, *cells], plain=plain + f"{lag.events:>10}{lag.seconds:>9.1f}s")
        summary.show()
        if settings.kafka_bootstrap_servers:
            await _show_group_lags(settings, settings.kafka_bootstrap_servers)
    finally:
        await checkpoints.close()
        await store.close()
        await infra.close()
    return 0


async def _show_group_lags(settings: Settings, bootstrap_servers: str) -> None:
    groups = [group_id(settings, consumer) for consumer in KAFKA_CONSUMERS]
    topics = [settings.kafka_customer_topic, settings.kafka_equipment_topic]
    try:
        lags = await group_lags(bootstrap_servers, groups, topics)
    except KafkaError as error:
        sys.stdout.write(f"(Kafka at {bootstrap_servers} did not answer: {error})\n")
        return
    summary = Summary(
        "Kafka consumer groups",
        ("kafka consumer group", "committed", "end", "lag"),
        plain_header=f"\n{'kafka consumer group':<44}{'committed':>12}{'end':>12}{'lag':>10}",
    )
    for lag in lags:
        summary.add(
            (lag.group, lag.committed, lag.end, lag.lag),
            plain=f"{lag.group:<44}{lag.committed:>12}{lag.end:>12}{lag.lag:>10}",
        )
    summary.show()


async def follow_projections(settings: Settings, stop: asyncio.Event) -> int:
    """Keep every projection's active generation up to date until `stop` is set."""
    infra = await open_infrastructure(settings)
    store = await open_read_store(settings)
    mapper = EventMapper(default_registry())
    parked = await open_parked_store(settings)
    try:
        runners = [
            runner(
                Projector(projection(), store, mapper, infra.keyring),
                settings,
                events=infra.event_store,
                parked=parked,
            )
            for projection in PROJECTIONS.values()
        ]
        await asyncio.gather(*(each.follow(stop=stop) for each in runners))
    finally:
        await parked.close()
        await store.close()
        await infra.close()
    return 0


async def run_ownership_reconciler(settings: Settings, stop: asyncio.Event) -> int:
    """The ownership reconciler on its own (CUSTOMERHUB_OWNERSHIP_RECONCILER=separate on the
    write side) until `stop` is set: exactly one per event log. It logs its start, each batch
    and, every STATUS_SECONDS, its position and lag, so its log shows it is alive."""
    configure_logging(settings.log_level, settings.log_format)
    infra = await open_infrastructure(settings)
    checkpoints = await open_checkpoint_store(settings)
    parked = await open_parked_store(settings)
    try:
        customers = customer_command.standalone_equipment_ledger(infra, settings)
        reconciler = equipment.ownership_reconciler(infra, settings, customers, checkpoints)
        await _reconciler_status(reconciler, infra.event_store, "reconciler.started")
        batch_size = settings.projector_batch_size
        reconciling = equipment.reconciler_runner(
            reconciler,
            infra.event_store,
            batch_size=batch_size,
            report=True,
            parked=parked,
            max_attempts=settings.consumer_max_attempts,
        )
        async with following([reconciling], on_stop=reconciler.wake):
            while not await _stopped(stop, STATUS_SECONDS):
                await _reconciler_status(reconciler, infra.event_store, "reconciler.status")
        await _reconciler_status(reconciler, infra.event_store, "reconciler.stopped")
    finally:
        await parked.close()
        await checkpoints.close()
        await infra.close()
    return 0


async def _reconciler_status(
    reconciler: OwnershipReconciler, events: EventStore, what: str
) -> None:
    position, head = await reconciler.position(), await events.head_position()
    log.info(what, position=position, head=head, lag=(head or 0) - (position or 0))


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
