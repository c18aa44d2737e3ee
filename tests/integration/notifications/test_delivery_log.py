"""The consumer, the dispatcher and the delivery log together, over the real read stores
(SQLite; MongoDB — FerretDB here) and a real SQLite event store, with channel senders that
record what they are given (the channel adapters have their own tests against real servers).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

import customer_command.bootstrap as customer_command
from customer_command.application import commands as c
from customer_command.application.context import CommandContext
from customer_command.application.handlers import CustomerPorts, handle
from customer_command.domain.values import NewContact, NewCustomer
from customerhub_shared.events import default_registry
from customerhub_shared.events.equipment import EquipmentRegistered
from customerhub_shared.infrastructure import Infrastructure, open_infrastructure
from customerhub_shared.mapper import EventMapper
from customerhub_shared.readstore import ReadStore
from customerhub_shared.readstore.sqlite import SQLiteReadStore
from customerhub_shared.settings import Settings
from notifications.adapters.delivery_log import ReadStoreNotifications
from notifications.adapters.templates import JinjaTemplates
from notifications.application.consumer import NotificationConsumer
from notifications.application.dispatcher import Dispatcher
from notifications.application.metrics import NotificationMetrics
from notifications.application.planning import DeliveryPlanner
from notifications.application.ports import (
    MessageSender,
    OutgoingMessage,
    PermanentFailure,
    Sent,
    TransientFailure,
)
from notifications.domain.deliveries import Delivery, RetryPolicy
from notifications.domain.templates import Channel

CTX = CommandContext(actor="alice", correlation_id="delivery-log-test")
CLAIRE = "claire@martin.example"
MARC = "+33612345678"


class RecordingSender(MessageSender):
    """Takes every message, unless told to fail the next attempts for a recipient."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.description = "memory"
        self.sent: list[OutgoingMessage] = []
        self.failures: dict[str, deque[Exception]] = {}

    def fail(self, recipient: str, *failures: Exception) -> None:
        self.failures.setdefault(recipient, deque()).extend(failures)

    async def send(self, message: OutgoingMessage) -> Sent:
        queued = self.failures.get(message.recipient)
        if queued:
            raise queued.popleft()
        self.sent.append(message)
        return Sent(f"mem-{len(self.sent)}")


@dataclass
class Rig:
    infra: Infrastructure
    ports: CustomerPorts
    store: ReadStoreNotifications
    consumer: NotificationConsumer
    email: RecordingSender
    sms: RecordingSender
    dispatchers: list[Dispatcher]
    metrics: NotificationMetrics

    async def consume(self) -> None:
        """Everything the event log holds, in batches of 5 (several writes and checkpoints)."""
        while batch := await self.infra.event_store.read_all(
            after=await self.consumer.position(), limit=5
        ):
            await self.consumer.process(batch)

    async def dispatch(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            for dispatcher in self.dispatchers:
                await dispatcher.step()

    async def customer(self, language: str = "fr", **contact: Any) -> tuple[UUID, UUID]:
        customer_id, contact_id = uuid.uuid4(), uuid.uuid4()
        details = NewCustomer.model_validate(
            {
                "name": f"Boulangerie {customer_id.hex[:8]}",
                "language": language,
                "main_location": {"city": "Paris"},
            }
        )
        await handle(c.CreateCustomer(customer_id, details), CTX, self.ports)
        body = {"name": "Claire Martin", "main": True} | contact
        await handle(
            c.AddContact(customer_id, contact_id, NewContact.model_validate(body)), CTX, self.ports
        )
        return customer_id, contact_id

    async def log(self, customer_id: UUID) -> list[Delivery]:
        return await self.store.history(customer_id, limit=100)

    async def item(self, name: str, **details: str) -> UUID:
        """An item registered in its own stream, as the equipment service does."""
        equipment_id = uuid.uuid4()
        registered = EquipmentRegistered(equipment_id=equipment_id, name=name, **details)
        stream = f"equipment-{equipment_id}"
        await self.ports.customers.writer.append(stream, [registered], CTX, expected_version=0)
        return equipment_id

    async def assign(self, customer_id: UUID, equipment_id: UUID) -> None:
        await handle(c.ReceiveEquipment(customer_id, (equipment_id,)), CTX, self.ports)

    def equipment_subjects(self) -> list[str]:
        return [m.message.subject for m in self.email.sent if "équipement" in m.message.subject]


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
async def read_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadStore]:
    if request.param == "mongodb":
        from customerhub_shared.readstore.mongo import MongoReadStore

        url = request.getfixturevalue("mongodb_url")
        store: ReadStore = await MongoReadStore.open(
            url, request.getfixturevalue("mongodb_database")
        )
    else:
        store = await SQLiteReadStore.open(tmp_path / "read.db")
    yield store
    await store.close()


def _rig(infra: Infrastructure, read_store: ReadStore, *, clock: Any = None) -> Rig:
    # Only the number range and name rules are read from these settings.
    service = customer_command.build_command_service(infra, Settings(jwt_secret="x" * 32))
    store = ReadStoreNotifications(read_store)
    metrics = NotificationMetrics()
    planner = DeliveryPlanner(JinjaTemplates(), metrics)
    email, sms = RecordingSender("email"), RecordingSender("sms")
    policy = RetryPolicy(max_attempts=3, base_seconds=0.001, max_seconds=0.002)
    dispatchers = [Dispatcher(s, store, policy, metrics, batch_size=4) for s in (email, sms)]
    consumer = NotificationConsumer(
        store=store,
        mapper=EventMapper(default_registry()),
        keyring=infra.keyring,
        planner=planner,
        max_event_age=timedelta(hours=1),
        items=infra.event_store,
        **({"clock": clock} if clock else {}),
    )
    return Rig(infra, service.ports, store, consumer, email, sms, dispatchers, metrics)


@pytest.fixture
async def infra(tmp_path: Path) -> AsyncIterator[Infrastructure]:
    opened = await open_infrastructure(Settings(data_dir=tmp_path, jwt_secret="x" * 32))
    yield opened
    await opened.close()


@pytest.fixture
def rig(infra: Infrastructure, read_store: ReadStore) -> Rig:
    return _rig(infra, read_store)


def statuses(log: Sequence[Delivery]) -> list[tuple[str, str, str, int]]:
    return [(d.template, d.channel, d.status, d.attempts) for d in log]


async def test_a_new_customer_s_main_contact_is_welcomed_once_in_its_language(rig: Rig) -> None:
    customer_id, contact_id = await rig.customer(
        "de", email=CLAIRE, phone=MARC, notify={"email": True, "sms": True}
    )
    await rig.consume()
    [pending] = await rig.log(customer_id)
    assert (pending.template, pending.channel, pending.status) == ("welcome", "email", "pending")
    assert pending.contact_id == contact_id and pending.language == "de"

    await rig.dispatch()
    [sent] = rig.email.sent
    assert sent.recipient == CLAIRE and sent.message.subject == "Willkommen, Claire Martin"
    assert statuses(await rig.log(customer_id)) == [("welcome", "email", "sent", 1)]
    assert rig.sms.sent == []  # welcome is an email


async def test_redelivered_and_replayed_events_send_nothing_twice(rig: Rig) -> None:
    customer_id, _ = await rig.customer(email=CLAIRE, notify={"email": True})
    head = await rig.infra.event_store.head_position()
    everything = await rig.infra.event_store.read_all(after=None, limit=1000)
    await rig.consume()
    await rig.dispatch()
    # Redelivery (the same batch again), then a replay of the whole log, then the deliveries
    # a rebuilt projection would derive again, written over the log.
    await rig.consumer.process(everything)
    await rig.consumer.process(everything)
    derived = [
        d.model_copy(update={"status": "pending", "attempts": 0})
        for d in await rig.log(customer_id)
    ]
    await rig.store.add(derived)
    await rig.dispatch()
    assert len(rig.email.sent) == 1
    assert statuses(await rig.log(customer_id)) == [("welcome", "email", "sent", 1)]
    assert await rig.consumer.position() == head


async def test_an_item_registered_batches_before_its_assignment_is_named_in_the_alert(
    rig: Rig,
) -> None:
    customer_id, _ = await rig.customer(email=CLAIRE, notify={"email": True}, equipment_alerts=True)
    item = await rig.item("Four à sole", brand="Bongard")
    await rig.consume()
    await rig.assign(customer_id, item)
    await rig.consume()
    await rig.dispatch()
    [subject] = rig.equipment_subjects()
    assert subject.endswith(": Four à sole (Bongard)")


async def test_an_assignment_delivered_before_its_items_events_still_names_the_item(
    rig: Rig,
) -> None:
    """On Kafka the equipment topic may lag the customers' one: the item's stream says."""
    customer_id, _ = await rig.customer(email=CLAIRE, notify={"email": True}, equipment_alerts=True)
    await rig.consume()
    item = await rig.item("Pétrin", brand="VMI", model="SPI")
    await rig.assign(customer_id, item)
    pending = await rig.infra.event_store.read_all(after=await rig.consumer.position())
    await rig.consumer.process([r for r in pending if r.stream.startswith("customer-")])
    await rig.consumer.process(pending)  # the item's events arrive, the customer's again
    await rig.dispatch()
    [subject] = rig.equipment_subjects()
    assert subject.endswith(": Pétrin (VMI SPI)")


async def test_transient_failures_are_retried_then_sent_and_permanent_ones_fail_at_once(
    rig: Rig,
) -> None:
    retried, _ = await rig.customer(email=CLAIRE, notify={"email": True})
    refused, _ = await rig.customer(email="nobody@martin.example", notify={"email": True})
    rig.email.fail(CLAIRE, TransientFailure("smtp_451"), TransientFailure("timeout"))
    rig.email.fail("nobody@martin.example", PermanentFailure("recipient_refused", "550 no"))
    await rig.consume()
    for _ in range(50):
        await rig.dispatch(rounds=1)
        if (await rig.log(retried))[0].status != "pending":
            break
        await asyncio.sleep(0.005)
    [first] = await rig.log(retried)
    [second] = await rig.log(refused)
    assert (first.status, first.attempts, first.reason) == ("sent", 3, None)
    assert (second.status, second.attempts, second.reason) == ("failed", 1, "recipient_refused")
    assert second.error == "550 no"
    assert rig.metrics.get("email", "retried") == 2
    assert (rig.metrics.get("email", "sent"), rig.metrics.get("email", "failed")) == (1, 1)


async def test_a_delivery_gives_up_after_the_last_allowed_attempt(rig: Rig) -> None:
    customer_id, _ = await rig.customer(email=CLAIRE, notify={"email": True})
    rig.email.fail(CLAIRE, *(TransientFailure("http_503") for _ in range(5)))
    await rig.consume()
    for _ in range(50):
        await rig.dispatch(rounds=1)
        await asyncio.sleep(0.005)
    [entry] = await rig.log(customer_id)
    assert (entry.status, entry.attempts, entry.reason) == ("failed", 3, "http_503")


async def test_anonymising_strips_addresses_and_bodies_and_cancels_what_is_pending(
    rig: Rig,
) -> None:
    sent_customer, _ = await rig.customer(email=CLAIRE, notify={"email": True})
    await rig.consume()
    await rig.dispatch()
    pending_customer, _ = await rig.customer(email="lea@martin.example", notify={"email": True})
    await rig.consume()  # recorded, not sent yet
    await handle(c.AnonymiseCustomer(sent_customer), CTX, rig.ports)
    await handle(c.AnonymiseCustomer(pending_customer), CTX, rig.ports)
    await rig.consume()
    await rig.dispatch()
    [sent] = await rig.log(sent_customer)
    [cancelled] = await rig.log(pending_customer)
    assert (sent.status, sent.recipient, sent.message, sent.erased) == ("sent", None, None, True)
    assert (cancelled.status, cancelled.reason, cancelled.recipient) == ("skipped", "erased", None)
    assert [m.recipient for m in rig.email.sent] == [CLAIRE]


async def test_events_older_than_the_window_notify_nobody(
    infra: Infrastructure, read_store: ReadStore
) -> None:
    late = _rig(infra, read_store, clock=lambda: datetime.now(UTC) + timedelta(days=2))
    customer_id, _ = await late.customer(email=CLAIRE, notify={"email": True})
    await late.consume()
    assert await late.log(customer_id) == []
    assert (await late.store.audience(customer_id)) is not None  # the projection is kept


async def test_attempts_left_open_by_a_crash_are_reported_and_sent_again(rig: Rig) -> None:
    customer_id, _ = await rig.customer(email=CLAIRE, notify={"email": True})
    await rig.consume()
    page = await rig.store.due("email", datetime.now(UTC), 10)
    # The process died after recording the attempt, before recording its outcome.
    await rig.store.begin_attempts([d.id for d in page.deliveries], datetime.now(UTC))
    assert await rig.store.open_attempts("email") == 1

    stop = asyncio.Event()
    restarted = asyncio.create_task(rig.dispatchers[0].run(stop))
    for _ in range(1000):  # up to 10 s: FerretDB on a busy machine is slow
        if rig.email.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await restarted
    assert rig.metrics.get("email", "in_doubt") == 1
    assert statuses(await rig.log(customer_id)) == [("welcome", "email", "sent", 2)]
    assert await rig.store.open_attempts("email") == 0


async def test_a_sender_bug_fails_its_delivery_and_the_others_still_go(rig: Rig) -> None:
    broken, _ = await rig.customer(email="bug@martin.example", notify={"email": True})
    fine, _ = await rig.customer(email=CLAIRE, notify={"email": True})
    rig.email.fail("bug@martin.example", RuntimeError("a bug in an adapter"))
    await rig.consume()
    await rig.dispatch(rounds=2)
    [failed] = await rig.log(broken)
    assert (failed.status, failed.attempts, failed.reason) == ("failed", 1, "internal_error")
    assert statuses(await rig.log(fine)) == [("welcome", "email", "sent", 1)]
