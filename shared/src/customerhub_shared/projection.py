"""The projector runtime: applies the ordered event log to a read model, idempotently.

It does not care where events come from: `process` takes a batch (from the event store's
log in the embedded default, from Kafka in distributed mode) and writes the documents it
changed together with the batch's last position as its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol
from uuid import UUID

import structlog

from customerhub_shared.events import Envelope
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.readstore import Document, ReadStore
from customerhub_shared.tracing import consuming

log = structlog.get_logger(__name__)
Progress = Callable[[int, int | None], Awaitable[None] | None]


class Projection(Protocol):
    """A pure view: which streams it reads, and how one event changes one document."""

    name: str

    def handles(self, stream: str) -> bool: ...

    def key_subject(self, stream: str) -> UUID | None: ...

    def document_id(self, stream: str) -> str: ...

    def apply(self, document: Document | None, envelope: Envelope) -> Document | None: ...


def collection_name(projection: str, generation: int) -> str:
    return f"{projection}_g{generation}"


def checkpoint_name(projection: str, generation: int) -> str:
    return f"{projection}@g{generation}"


class Projector:
    """Keeps one generation of one projection up to date (the active one unless told)."""

    def __init__(
        self,
        projection: Projection,
        store: ReadStore,
        mapper: EventMapper,
        keyring: KeyRing,
        *,
        generation: int | None = None,
    ) -> None:
        self.projection = projection
        self.store = store
        self.mapper = mapper
        self.keyring = keyring
        self._fixed_generation = generation
        self.generation = generation or 1

    async def refresh_generation(self) -> bool:
        """Follow the active generation (after a replay switched it); True if it changed."""
        if self._fixed_generation is not None:
            return False
        active, _ = await self.store.generations(self.projection.name)
        changed = active != self.generation
        self.generation = active
        return changed

    @property
    def collection(self) -> str:
        return collection_name(self.projection.name, self.generation)

    async def position(self) -> int | None:
        return await self.store.checkpoint(checkpoint_name(self.projection.name, self.generation))

    async def process(self, batch: Sequence[RecordedEvent]) -> None:
        if not batch:
            return
        mine = [event for event in batch if self.projection.handles(event.stream)]
        documents = await self._apply(mine) if mine else {}
        await self.store.write(
            self.collection,
            list(documents.values()),
            checkpoint_name=checkpoint_name(self.projection.name, self.generation),
            position=batch[-1].position,
        )

    async def _apply(self, events: Sequence[RecordedEvent]) -> dict[str, Document]:
        ids = list(dict.fromkeys(self.projection.document_id(e.stream) for e in events))
        stored = await self.store.get_many(self.collection, ids)
        changed: dict[str, Document] = {}
        keys: dict[UUID, bytes | None] = {}
        for event in events:
            doc_id = self.projection.document_id(event.stream)
            current = changed.get(doc_id, stored.get(doc_id))
            if current is not None and current.get("_version", 0) > event.revision:
                continue  # already applied: a redelivery or a replay over a crash
            envelope = self.mapper.to_envelope(event, key=await self._key(event.stream, keys))
            with consuming(self.projection.name, envelope):
                updated = self.projection.apply(current, envelope)
            if updated is not None:
                updated["_id"] = doc_id
                updated["_version"] = event.revision + 1
                changed[doc_id] = updated
        return changed

    async def _key(self, stream: str, keys: dict[UUID, bytes | None]) -> bytes | None:
        subject = self.projection.key_subject(stream)
        if subject is None:
            return None
        if subject not in keys:
            keys[subject] = await self.keyring.key_for(subject)
        return keys[subject]

    async def catch_up(
        self,
        events: EventStore,
        *,
        until: int | None = None,
        batch_size: int = 1000,
        progress: Progress | None = None,
    ) -> int:
        """Process the log from the checkpoint up to `until` (default: the head now)."""
        until = until if until is not None else await events.head_position()
        processed = 0
        position = await self.position()
        while until is not None and (position is None or position < until):
            batch = await events.read_all(after=position, limit=batch_size)
            if not batch:
                break
            await self.process(batch)
            processed += len(batch)
            position = batch[-1].position
            if progress is not None:
                maybe = progress(position, until)
                if maybe is not None:
                    await maybe
        return processed

    async def follow(
        self, events: EventStore, *, stop: asyncio.Event, batch_size: int = 500
    ) -> None:
        """Keep up with the log live until `stop` is set.

        A failing batch (a read store or event store that is briefly away) is logged and
        retried with growing pauses; nothing is skipped, since the checkpoint did not move.
        """
        failures = 0
        while not stop.is_set():
            try:
                caught_up = await self._step(events, batch_size)
                failures = 0
            except Exception:
                failures += 1
                log.exception("projector.batch_failed", projection=self.projection.name)
                caught_up = True
            if caught_up:
                pause = 0.05 if failures == 0 else min(0.1 * 2**failures, 5.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _step(self, events: EventStore, batch_size: int) -> bool:
        """Apply the next batch; True when there was nothing left to apply."""
        await self.refresh_generation()
        batch = await events.read_all(after=await self.position(), limit=batch_size)
        await self.process(batch)
        return not batch


@contextlib.asynccontextmanager
async def projectors_following(
    projectors: Sequence[Projector], events: EventStore, *, batch_size: int = 500
) -> AsyncIterator[None]:
    """Run projectors live in the background for the duration of the block (a service's life)."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(p.follow(events, stop=stop, batch_size=batch_size)) for p in projectors
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)
