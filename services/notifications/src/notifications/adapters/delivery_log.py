"""The notification store over the shared read store: one collection holds the audience
projection (`customer:<id>`), equipment labels (`equipment:<id>`) and the delivery log (one
document per delivery, keyed by its deterministic id).

Keeping them in one collection lets the consumer write new deliveries, the projection and its
checkpoint in one `ReadStore.write`: one transaction on SQLite. On MongoDB (no transactions)
the deliveries come first in that write, then the projection, then the checkpoint, so a crash
part-way leaves at worst a projection that derives the same deliveries again: same ids, and a
document is only ever replaced by a higher `_version`, so a recorded delivery never goes back.

Updates of recorded deliveries (attempts, outcomes, erasure) are read-modify-writes under one
lock: run one notification service (consumer and dispatchers) per read store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from customerhub_shared.readstore import Document, Query, ReadStore
from notifications.application.ports import (
    DuePage,
    HistoryCursor,
    NotificationStore,
    Versioned,
)
from notifications.domain.audience import Audience, EquipmentLabel
from notifications.domain.deliveries import Delivery, Outcome
from notifications.domain.templates import Channel

COLLECTION = "notifications"
CONSUMER_CHECKPOINT = "notifications.consumer"
# `ReadStore.write` always moves a checkpoint; writes that are not the consumer's move this
# one, whose "position" is the time (ms) of the last of them: a liveness beacon, nothing more.
LOG_BEACON = "notifications.log"
_PAGE = 500


def _audience_id(customer_id: UUID) -> str:
    return f"customer:{customer_id}"


def _equipment_id(equipment_id: UUID) -> str:
    return f"equipment:{equipment_id}"


def _delivery_doc(delivery: Delivery, version: int) -> Document:
    pending = delivery.status == "pending"
    due = delivery.next_attempt_at if pending else None
    return {
        "_id": str(delivery.id),
        "_version": version,
        "kind": "delivery",
        "customer_id": str(delivery.customer_id),
        # The dispatcher's queue: set only while pending, so sent ones drop out of its index.
        "queue": delivery.channel if pending else None,
        "attempt_open": delivery.attempt_open,
        "due_at": due.timestamp() if due is not None else None,
        "created_seq": delivery.created_at.timestamp(),
        "delivery": delivery.model_dump(mode="json"),
    }


def _delivery(document: Document) -> Delivery:
    return Delivery.model_validate(document["delivery"])


def _beacon() -> int:
    return time.time_ns() // 1_000_000


class ReadStoreNotifications(NotificationStore):
    def __init__(self, store: ReadStore, *, collection: str = COLLECTION) -> None:
        self._store = store
        self._collection = collection
        self._lock = asyncio.Lock()

    async def consumer_position(self) -> int | None:
        return await self._store.checkpoint(CONSUMER_CHECKPOINT)

    async def audiences(self, customer_ids: Sequence[UUID]) -> dict[UUID, Versioned[Audience]]:
        found = await self._store.get_many(
            self._collection, [_audience_id(c) for c in customer_ids]
        )
        return {
            UUID(doc["customer_id"]): Versioned(
                Audience.model_validate(doc["audience"]), doc["_version"]
            )
            for doc in found.values()
        }

    async def equipment(
        self, equipment_ids: Sequence[UUID]
    ) -> dict[UUID, Versioned[EquipmentLabel]]:
        wanted = [_equipment_id(e) for e in equipment_ids]
        found = await self._store.get_many(self._collection, wanted)
        return {
            UUID(doc["equipment_id"]): Versioned(
                EquipmentLabel.model_validate(doc["equipment"]), doc["_version"]
            )
            for doc in found.values()
        }

    async def save_batch(
        self,
        *,
        audiences: Sequence[Versioned[Audience]],
        equipment: Sequence[Versioned[EquipmentLabel]],
        deliveries: Sequence[Delivery],
        erase_customers: Collection[UUID],
        position: int,
        at: datetime,
    ) -> None:
        new = [d.erase(at) if d.customer_id in erase_customers else d for d in deliveries]
        documents = [_delivery_doc(delivery, 1) for delivery in new]
        async with self._lock:
            for customer_id in erase_customers:
                documents += await self._erased(customer_id, at)
            documents += [
                {
                    "_id": _audience_id(a.value.customer_id),
                    "_version": a.version,
                    "kind": "audience",
                    "customer_id": str(a.value.customer_id),
                    "audience": a.value.model_dump(mode="json"),
                }
                for a in audiences
            ]
            documents += [
                {
                    "_id": _equipment_id(e.value.equipment_id),
                    "_version": e.version,
                    "kind": "equipment",
                    "equipment_id": str(e.value.equipment_id),
                    "equipment": e.value.model_dump(mode="json"),
                }
                for e in equipment
            ]
            await self._store.write(
                self._collection,
                documents,
                checkpoint_name=CONSUMER_CHECKPOINT,
                position=position,
            )
            if erase_customers:
                await self._store.erase_replaced()

    async def _erased(self, customer_id: UUID, at: datetime) -> list[Document]:
        """The customer's recorded deliveries without addresses or bodies."""
        erased: list[Document] = []
        after: tuple[Any, str] | None = None
        while True:
            query = Query(
                equals={"kind": "delivery", "customer_id": str(customer_id)},
                sort="_id",
                after=after,
                limit=_PAGE,
            )
            page = await self._store.find(self._collection, query)
            for document in page:
                delivery = _delivery(document)
                if not delivery.erased:
                    erased.append(_delivery_doc(delivery.erase(at), document["_version"] + 1))
            if len(page) < _PAGE:
                return erased
            after = (page[-1]["_id"], page[-1]["_id"])

    async def audience(self, customer_id: UUID) -> Audience | None:
        document = await self._store.get(self._collection, _audience_id(customer_id))
        return None if document is None else Audience.model_validate(document["audience"])

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        async with self._lock:
            # The customer may have been anonymised since the request read it.
            gone = set()
            for customer_id in {d.customer_id for d in deliveries}:
                audience = await self.audience(customer_id)
                if audience is None or audience.status in ("anonymised", "deleted"):
                    gone.add(customer_id)
            documents = [
                _delivery_doc(d.erase(d.created_at) if d.customer_id in gone else d, 1)
                for d in deliveries
            ]
            await self._write(documents)

    async def deliveries(self, delivery_ids: Sequence[UUID]) -> list[Delivery]:
        found = await self._store.get_many(self._collection, [str(i) for i in delivery_ids])
        return [_delivery(found[str(i)]) for i in delivery_ids if str(i) in found]

    async def history(
        self, customer_id: UUID, *, limit: int, after: HistoryCursor | None = None
    ) -> list[Delivery]:
        query = Query(
            equals={"kind": "delivery", "customer_id": str(customer_id)},
            sort="created_seq",
            descending=True,
            after=None if after is None else (after.created_at, after.delivery_id),
            limit=limit,
        )
        return [_delivery(document) for document in await self._store.find(self._collection, query)]

    async def due(self, channel: Channel, now: datetime, limit: int) -> DuePage:
        query = Query(equals={"queue": channel}, sort="due_at", limit=limit)
        waiting = await self._store.find(self._collection, query)
        cutoff = now.timestamp()
        due = [_delivery(doc) for doc in waiting if (doc["due_at"] or 0.0) <= cutoff]
        later = [doc["due_at"] for doc in waiting if (doc["due_at"] or 0.0) > cutoff]
        next_due = datetime.fromtimestamp(min(later), UTC) if later else None
        return DuePage(due, next_due)

    async def open_attempts(self, channel: Channel) -> int:
        query = Query(equals={"queue": channel, "attempt_open": True}, limit=1_000_000)
        return len(await self._store.find(self._collection, query))

    async def begin_attempts(self, delivery_ids: Sequence[UUID], at: datetime) -> list[Delivery]:
        async with self._lock:
            current = await self._current(delivery_ids)
            started = [
                (delivery.begin_attempt(at), version)
                for delivery, version in current
                if delivery.status == "pending"
            ]
            await self._write([_delivery_doc(d, version + 1) for d, version in started])
        return [delivery for delivery, _ in started]

    async def settle(self, outcomes: Sequence[tuple[UUID, Outcome]]) -> None:
        by_id = dict(outcomes)
        async with self._lock:
            current = await self._current(list(by_id))
            await self._write(
                [_delivery_doc(d.settle(by_id[d.id]), version + 1) for d, version in current]
            )

    async def _current(self, delivery_ids: Sequence[UUID]) -> list[tuple[Delivery, int]]:
        found = await self._store.get_many(self._collection, [str(i) for i in delivery_ids])
        return [
            (_delivery(found[str(i)]), found[str(i)]["_version"])
            for i in delivery_ids
            if str(i) in found
        ]

    async def _write(self, documents: list[Document]) -> None:
        if documents:
            await self._store.write(
                self._collection, documents, checkpoint_name=LOG_BEACON, position=_beacon()
            )
