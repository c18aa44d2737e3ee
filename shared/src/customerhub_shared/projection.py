"""The projector runtime: applies the ordered event log to a read model, idempotently.

It does not care where events come from: `process` takes a batch (from the event store's
log in the embedded default, from Kafka in distributed mode) and writes the documents it
changed together with the batch's last position as its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Protocol
from uuid import UUID

import structlog

from customerhub_shared.events import Envelope
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.readstore import Document, ReadStore

log = structlog.get_logger(__name__)
Progress = Callable[[int, int | None], Awaitable[None] | None]
# Events read from the log at a time while catching up.
PAGE_SIZE = 5000


class Projection(Protocol):
    """A pure view: which streams it reads, and how one event changes one document."""

    name: str

    def handles(self, stream: str) -> bool: ...

    def key_subject(self, stream: str) -> UUID | None: ...

    def document_id(self, stream: str) -> str: ...

    def apply(self, document: Document | None, envelope: Envelope) -> Document | None: ...

    def fold(self, document: Document | None, envelopes: Sequence[Envelope]) -> Document | None:
        """`apply` of each envelope in turn (a None keeping the document), in one go: what
        is derived from the whole document is computed once, not once per event."""
        ...


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
        """Each document touched by the batch, read once, folded over its events, once."""
        streams: dict[str, list[RecordedEvent]] = {}
        for event in events:
            streams.setdefault(event.stream, []).append(event)
        ids = {stream: self.projection.document_id(stream) for stream in streams}
        stored = await self.store.get_many(self.collection, list(ids.values()))
        pending = {
            stream: fresh
            for stream, recorded in streams.items()
            if (fresh := _not_applied(stored.get(ids[stream]), recorded))
        }
        keys = await self._keys(pending)
        changed: dict[str, Document] = {}
        for stream, recorded in pending.items():
            key = keys.get(stream)
            envelopes = [self.mapper.to_envelope(event, key=key) for event in recorded]
            doc_id = ids[stream]
            updated = self.projection.fold(stored.get(doc_id), envelopes)
            if updated is not None:
                updated["_id"] = doc_id
                updated["_version"] = recorded[-1].revision + 1
                changed[doc_id] = updated
        return changed

    async def _keys(self, streams: Mapping[str, Sequence[RecordedEvent]]) -> dict[str, bytes]:
        """The keys of the streams whose events carry sealed personal data, looked up together."""
        subjects = {
            stream: subject
            for stream, recorded in streams.items()
            if any(self.mapper.is_sealed(event) for event in recorded)
            and (subject := self.projection.key_subject(stream)) is not None
        }
        found = await asyncio.gather(*(self.keyring.key_for(s) for s in subjects.values()))
        return {stream: key for stream, key in zip(subjects, found, strict=True) if key}

    async def catch_up(
        self,
        events: EventStore,
        *,
        until: int | None = None,
        batch_size: int = 1000,
        progress: Progress | None = None,
    ) -> int:
        """Process the log from the checkpoint up to `until` (default: the head now).

        The log is read in pages, the next one while a batch is applied; a batch (one write
        with its checkpoint) is `batch_size` events, or what is left.
        """
        until = until if until is not None else await events.head_position()
        position = await self.position()
        if until is None or (position is not None and position >= until):
            return 0
        processed = 0
        batch: list[RecordedEvent] = []
        pages = _pages(events, after=position, until=until, size=min(PAGE_SIZE, batch_size))
        async with contextlib.aclosing(pages):
            async for page in pages:
                batch.extend(page)
                if len(batch) < batch_size and page[-1].position < until:
                    continue
                await self.process(batch)
                processed += len(batch)
                position, batch = batch[-1].position, []
                if progress is not None:
                    maybe = progress(position, until)
                    if maybe is not None:
                        await maybe
        if batch:
            await self.process(batch)
            processed += len(batch)
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


async def _pages(
    events: EventStore, *, after: int | None, until: int, size: int
) -> AsyncGenerator[list[RecordedEvent]]:
    """The log after `after` in pages until one reaches `until`; the next page is read while
    the caller works on this one."""
    ahead = asyncio.ensure_future(events.read_all(after=after, limit=size))
    try:
        while page := await ahead:
            more = page[-1].position < until
            if more:
                ahead = asyncio.ensure_future(events.read_all(after=page[-1].position, limit=size))
            yield page
            if not more:
                return
    finally:
        ahead.cancel()


def _not_applied(document: Document | None, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """The events a document has not seen yet: a redelivery or a replay over a crash is skipped."""
    version = 0 if document is None else int(document.get("_version", 0))
    fresh: list[RecordedEvent] = []
    for event in events:
        if event.revision >= version:
            fresh.append(event)
            version = event.revision + 1
    return fresh
