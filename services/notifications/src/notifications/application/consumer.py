"""The event consumer: a batch of recorded events in, deliveries and the audience out.

Transport-free: the batch comes from the event store's log (embedded) or from Kafka
(distributed); either way `process` folds the customer and equipment events into the audience
projection, derives the deliveries the rules ask for, and stores both with the batch's last
position in one read-store write. An event already applied (its stream's version says so) is
skipped, and a delivery derived again has the same id as before, so a replayed or redelivered
batch sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog

from customerhub_shared.events import Envelope
from customerhub_shared.events.customer import (
    CustomerAnonymised,
    CustomerDeleted,
    CustomerEvent,
    EquipmentAssigned,
)
from customerhub_shared.events.equipment import EquipmentEvent
from customerhub_shared.eventstore import RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.tracing import consuming
from notifications.application.planning import DeliveryPlanner
from notifications.application.ports import (
    HistoryCursor,
    NotificationStore,
    StreamReader,
    Versioned,
)
from notifications.domain import audience as folds
from notifications.domain import rules
from notifications.domain.audience import Audience, EquipmentLabel
from notifications.domain.deliveries import Delivery

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
ForgetMessages = Callable[[Sequence[UUID]], Awaitable[None]]
CUSTOMER_PREFIX = "customer-"
_ERASE_PAGE = 500
EQUIPMENT_PREFIX = "equipment-"


def stream_subject(stream: str, prefix: str) -> UUID | None:
    if not stream.startswith(prefix):
        return None
    try:
        return UUID(stream.removeprefix(prefix))
    except ValueError:
        return None


class _Batch:
    """The projection documents one batch touches, as loaded and as changed."""

    def __init__(
        self,
        customers: dict[UUID, Versioned[Audience]],
        equipment: dict[UUID, Versioned[EquipmentLabel]],
    ) -> None:
        self.customers = customers
        self.equipment = equipment
        self.changed_customers: set[UUID] = set()
        self.changed_equipment: set[UUID] = set()
        self.deliveries: list[Delivery] = []
        self.erase: set[UUID] = set()


class NotificationConsumer:
    name = "notifications"

    def __init__(
        self,
        *,
        store: NotificationStore,
        mapper: EventMapper,
        keyring: KeyRing,
        planner: DeliveryPlanner,
        max_event_age: timedelta,
        clock: Clock = lambda: datetime.now(UTC),
        on_deliveries: Callable[[], None] = lambda: None,
        items: StreamReader | None = None,
        forget_messages: ForgetMessages | None = None,
    ) -> None:
        """`items`: where an item's own stream is read when a customer event names an item
        this consumer has not seen yet (on Kafka, the equipment topic may lag the customers').
        `forget_messages`: erases the copies the senders kept of these deliveries' messages."""
        self.store = store
        self.forget_messages = forget_messages
        self.items = items
        self.mapper = mapper
        self.keyring = keyring
        self.planner = planner
        self.max_event_age = max_event_age
        self.clock = clock
        self.on_deliveries = on_deliveries

    async def position(self) -> int | None:
        return await self.store.consumer_position()

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        """`covered`: the log position to store as reached, when the batch's last position is
        not one (a Kafka delivery: its watermark; given with no events, only it is stored)."""
        if not batch and covered is None:
            return
        customer_ids = _subjects(batch, CUSTOMER_PREFIX)
        equipment_ids = _subjects(batch, EQUIPMENT_PREFIX)
        state = _Batch(
            await self.store.audiences(customer_ids), await self.store.equipment(equipment_ids)
        )
        found = await self.keyring.keys_for(list(customer_ids))
        keys: dict[UUID, bytes | None] = {subject: found.get(subject) for subject in customer_ids}
        now = self.clock()
        stale = 0
        for recorded in batch:
            if (customer_id := stream_subject(recorded.stream, CUSTOMER_PREFIX)) is not None:
                stale += await self._customer_event(state, customer_id, recorded, keys, now)
            elif (equipment_id := stream_subject(recorded.stream, EQUIPMENT_PREFIX)) is not None:
                self._equipment_event(state, equipment_id, recorded)
        if stale:
            log.info("notifications.stale_events_ignored", count=stale)
        # Before the erasure is recorded: a crash in between erases again on the next try.
        await self._forget_messages(state.erase)
        await self.store.save_batch(
            audiences=[state.customers[c] for c in state.changed_customers],
            equipment=[state.equipment[e] for e in state.changed_equipment],
            deliveries=state.deliveries,
            erase_customers=state.erase,
            position=batch[-1].position if covered is None else covered,
            at=now,
        )
        # Again once recorded: a message a dispatcher was handing over meanwhile is gone too
        # (one it hands over from now on, it forgets itself).
        await self._forget_messages(state.erase)
        self.planner.count_settled(state.deliveries)
        if state.deliveries:
            self.on_deliveries()

    async def _forget_messages(self, customer_ids: set[UUID]) -> None:
        if self.forget_messages is None:
            return
        for customer_id in customer_ids:
            after: HistoryCursor | None = None
            while True:
                page = await self.store.history(customer_id, limit=_ERASE_PAGE, after=after)
                await self.forget_messages([delivery.id for delivery in page])
                if len(page) < _ERASE_PAGE:
                    break
                after = HistoryCursor(page[-1].created_at.timestamp(), str(page[-1].id))

    async def _customer_event(
        self,
        state: _Batch,
        customer_id: UUID,
        recorded: RecordedEvent,
        keys: dict[UUID, bytes | None],
        now: datetime,
    ) -> int:
        """Apply one customer event; 1 if it was too old to notify anyone, else 0."""
        current = state.customers.get(customer_id)
        if current is not None and current.version > recorded.revision:
            return 0  # applied already: a redelivery, or a replay over a crash
        if customer_id not in keys:
            keys[customer_id] = await self.keyring.key_for(customer_id)
        envelope = self.mapper.to_envelope(recorded, key=keys[customer_id])
        with consuming("notifications", envelope):
            return await self._apply_customer_event(state, customer_id, envelope, now)

    async def _apply_customer_event(
        self, state: _Batch, customer_id: UUID, envelope: Envelope, now: datetime
    ) -> int:
        current = state.customers.get(customer_id)
        event = envelope.event
        if not isinstance(event, CustomerEvent):
            return 0
        before = current.value if current is not None else None
        after = folds.apply(before, event)
        state.customers[customer_id] = Versioned(after, envelope.revision + 1)
        state.changed_customers.add(customer_id)
        if isinstance(event, CustomerAnonymised | CustomerDeleted):
            state.erase.add(customer_id)
        if not self._fresh(envelope, now):
            return 1
        if isinstance(event, EquipmentAssigned):
            await self._know_item(state, event.equipment_id)
        labels = {e: v.value for e, v in state.equipment.items()}
        for intent in rules.intents_for_event(before, after, envelope, labels):
            # A microsecond apart per cause, so the log lists a batch's causes in log order.
            at = now + timedelta(microseconds=len(state.deliveries))
            state.deliveries += self.planner.plan(intent, after, at=at)
        return 0

    async def _know_item(self, state: _Batch, equipment_id: UUID) -> None:
        """Load the item's label: kept from an earlier batch, else folded from its stream."""
        if equipment_id in state.equipment:
            return
        state.equipment.update(await self.store.equipment([equipment_id]))
        if equipment_id in state.equipment or self.items is None:
            return
        for recorded in await self.items.read_stream(f"{EQUIPMENT_PREFIX}{equipment_id}"):
            self._equipment_event(state, equipment_id, recorded)

    def _equipment_event(self, state: _Batch, equipment_id: UUID, recorded: RecordedEvent) -> None:
        current = state.equipment.get(equipment_id)
        if current is not None and current.version > recorded.revision:
            return
        event = self.mapper.to_envelope(recorded, key=None).event
        if not isinstance(event, EquipmentEvent):
            return
        label = folds.apply_equipment(current.value if current else None, event)
        state.equipment[equipment_id] = Versioned(label, recorded.revision + 1)
        state.changed_equipment.add(equipment_id)

    def _fresh(self, envelope: Envelope, now: datetime) -> bool:
        recorded_at = envelope.recorded_at
        if recorded_at.tzinfo is None:
            recorded_at = recorded_at.replace(tzinfo=UTC)
        return now - recorded_at <= self.max_event_age


def _subjects(batch: Sequence[RecordedEvent], prefix: str) -> list[UUID]:
    found = (stream_subject(recorded.stream, prefix) for recorded in batch)
    return list(dict.fromkeys(subject for subject in found if subject is not None))
