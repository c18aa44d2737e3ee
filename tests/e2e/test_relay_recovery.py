"""The relay survives a real crash: `customerhub relay` killed with SIGKILL in the middle of a
burst of 5,000 events, then restarted, gets every event to Kafka.

Delivery is at-least-once: what the killed relay had sent but not yet checkpointed is sent
again, so the topic may hold duplicates (counted and reported). They are harmless: each is a
redelivery of a (subject, sequence) the consumer has already seen, which it skips.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import handle
from customer_command.domain.values import NewCustomer
from customerhub_shared.checkpoints.sqlite import SQLiteCheckpointStore
from customerhub_shared.cloudevents import Topics, from_message
from customerhub_shared.infrastructure import open_infrastructure
from customerhub_shared.settings import Settings
from tests.integration.kafka.topics import by_key, read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

CUSTOMERS = 500
LABELS = 9  # each customer: CustomerCreated + 9 CustomerLabelAdded = 10 published events
WRITERS = 4
CHECKPOINT = "relay-recovery"


class Burst:
    """5,000 customer events through the command handlers, four writers at once. A third of
    the way in, the writers wait for `resume`: the test starts the relay there, so the rest
    of the burst is certain to be still under way when the relay is killed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.done = 0
        self.third_position: int | None = None  # the log position a third of the way in
        self.resume = asyncio.Event()

    async def run(self) -> None:
        infra = await open_infrastructure(self.settings)
        service = customer_command.build_command_service(infra, self.settings)
        ctx = CommandContext(actor="burst", correlation_id="relay-recovery")

        async def writer(first: int) -> None:
            for n in range(first, CUSTOMERS, WRITERS):
                if self.third_position is not None:
                    await self.resume.wait()
                customer_id = uuid.uuid4()
                details = NewCustomer.model_validate(
                    {"name": f"Client Rafale {n}", "main_location": {"city": "Lyon"}}
                )
                await handle(c.CreateCustomer(customer_id, details), ctx, service.ports)
                for label in range(LABELS):
                    result = await handle(
                        c.AddLabel(customer_id, f"label-{label}"), ctx, service.ports
                    )
                self.done += 1
                if self.done == CUSTOMERS // 3:
                    self.third_position = result.position

        try:
            await asyncio.gather(*(writer(first) for first in range(WRITERS)))
        finally:
            await infra.close()


def start_relay(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "customerhub.cli", "relay"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


async def wait_for_checkpoint(
    checkpoints: SQLiteCheckpointStore,
    position: int,
    relay: subprocess.Popen[bytes],
    *,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while (await checkpoints.get(CHECKPOINT) or 0) < position:
        assert relay.poll() is None, f"the relay exited with {relay.returncode}"
        assert time.monotonic() < deadline, "the relay made no progress"
        await asyncio.sleep(0.01)


async def test_a_relay_killed_mid_burst_loses_nothing_after_a_restart(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topics: Topics,
    record_property: Any,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret="relay-recovery-0123456789abcdef0123456789",
        log_level="WARNING",
    )
    env = {
        "CUSTOMERHUB_DATA_DIR": str(tmp_path),
        "CUSTOMERHUB_LOG_LEVEL": "WARNING",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CUSTOMERHUB_KAFKA_CUSTOMER_TOPIC": kafka_topics.customer,
        "CUSTOMERHUB_KAFKA_EQUIPMENT_TOPIC": kafka_topics.equipment,
        "CUSTOMERHUB_RELAY_BATCH_SIZE": "100",
        "CUSTOMERHUB_RELAY_CHECKPOINT_NAME": CHECKPOINT,
    }
    relay_log = tmp_path / "relay.log"
    checkpoints = SQLiteCheckpointStore(tmp_path / "checkpoints.db")
    burst = Burst(settings)
    try:
        # The relay starts a third of the way into the burst, so it is busy catching up in
        # full batches when it is killed: some sent messages are not checkpointed yet.
        writing = asyncio.create_task(burst.run())
        deadline = time.monotonic() + 60
        while burst.third_position is None:
            assert not writing.done(), writing.exception()
            assert time.monotonic() < deadline, "the burst made no progress"
            await asyncio.sleep(0.01)
        first = start_relay(env, relay_log)
        await wait_for_checkpoint(checkpoints, 1, first, timeout=60)
        burst.resume.set()
        await wait_for_checkpoint(checkpoints, burst.third_position // 2, first, timeout=60)
        # Somewhere inside the next batch: before, during or after Kafka's acknowledgement.
        await asyncio.sleep(random.uniform(0.0, 0.03))
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = await checkpoints.get(CHECKPOINT)
        assert not writing.done(), "the kill must land in the middle of the burst"
        await writing

        infra = await open_infrastructure(settings)
        try:
            log = await infra.event_store.read_all(limit=100_000)
        finally:
            await infra.close()
        published = [event for event in log if event.stream.startswith("customer-")]
        assert len(published) == CUSTOMERS * (1 + LABELS) == 5000
        head = log[-1].position
        assert killed_at is not None and killed_at < head
        backlog = sum(1 for event in published if event.position > killed_at)

        began = time.monotonic()
        second = start_relay(env, relay_log)
        try:
            await wait_for_checkpoint(checkpoints, killed_at + 1, second, timeout=60)
            moved_at, moved_to = time.monotonic(), await checkpoints.get(CHECKPOINT) or 0
            await wait_for_checkpoint(checkpoints, head, second, timeout=120)
            finished = time.monotonic()
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0, relay_log.read_text()[-4000:]
    finally:
        await checkpoints.close()

    records = await read_topic(kafka_bootstrap, kafka_topics.customer, timeout=60)
    events = [from_message(record.value) for record in records]
    ids = [event.id for event in events]
    assert set(ids) == {event.id for event in published}, "an event never reached Kafka"
    duplicates = len(ids) - len(set(ids))

    # Per customer: revisions in order once redeliveries are dropped; a redelivery only ever
    # repeats what came before it, never jumps ahead.
    for key, of_key in by_key(records).items():
        revisions = [from_message(record.value).revision for record in of_key]
        firsts = list(dict.fromkeys(revisions))
        assert firsts == list(range(1 + LABELS)), (key, revisions)
        highest = -1
        for revision in revisions:
            assert revision <= highest + 1, (key, revisions)
            highest = max(highest, revision)

    seconds = finished - began
    steady = sum(1 for event in published if event.position > moved_to) / (finished - moved_at)
    record_property("duplicates", duplicates)
    record_property("relay_events_per_second", round(steady))
    sys.stdout.write(
        f"\nrelay recovery: killed at checkpoint {killed_at} of {head};"
        f" {len(records)} messages for {len(published)} events ({duplicates} duplicates);"
        f" the restarted relay published its backlog of {backlog} events in {seconds:.2f}s"
        f" ({backlog / seconds:,.0f} events/s with the process start,"
        f" {steady:,.0f} events/s once publishing)\n"
    )
