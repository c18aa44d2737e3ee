"""The projector runtime: applies the ordered event log to a read model, idempotently.

It does not care where events come from: `process` takes a batch (from the event store's
log in the embedded default, from Kafka in distributed mode) and writes the documents it
changed together with the batch's last position as its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Generic, Protocol, TypeVar
from uuid import UUID

import orjson
import structlog

from customerhub_shared import forked
from customerhub_shared.coalesced import CoalescedRead
from customerhub_shared.consumers.runner import Progress as Progress
from customerhub_shared.consumers.runner import Runner, following
from customerhub_shared.events import Envelope
from customerhub_shared.eventstore import EventStore, RecordedEvent
from customerhub_shared.eventstore.port import StreamRangeReader
from customerhub_shared.keyring import KeyRing
from customerhub_shared.mapper import EventMapper
from customerhub_shared.readstore import Document, ReadStore
from customerhub_shared.readstore.port import EncodedDocument, encoded
from customerhub_shared.tracing import consuming

log = structlog.get_logger(__name__)
# Events recorded this recently get a span in their request's trace; older ones (a replay,
# a catch-up after downtime) are history, and a span each would slow the rebuild.
TRACED_RECENT = timedelta(minutes=5)
# Events a rebuild reads from the log at a time (the next page while it folds a batch).
PAGE_SIZE = 5000
# A rebuild writes a batch's documents in chunks of this many, each while it folds the next.
FOLD_CHUNK = 2000
# Streams a rebuild folds between two turns of the event loop (a write in flight goes on).
FOLDS_PER_TURN = 100
# Worker processes a rebuild from nothing reads and folds in (0: in this process).
FORKED_FOLDS = 2
# Streams a rebuild asks the sizes of at a time, to cut the log into workers' ranges.
STREAM_SIZES_READ = 2000
# A worker folds one batch in seconds; one that has not answered by then is stuck (a lock
# held by another thread when it was forked): the rebuild fails and can resume.
FORKED_FOLD_SECONDS = 300.0
# A document or one already serialised (what a rebuild's worker sends back).
D = TypeVar("D", Document, EncodedDocument)
# A range of streams a worker folds (under way), and its count of events.
_Fold = tuple[asyncio.Future[dict[str, EncodedDocument]], int]


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


def stream_pass_name(projection: str, generation: int) -> str:
    """Where a rebuild folding stream after stream keeps the count of events it folded."""
    return f"{projection}@g{generation}/streams"


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
        self._progressed = asyncio.Event()
        # Documents whose erasure is still to be written, by id (a rebuild folds the next batch
        # while one is written: only the version written is done with).
        self._erasing: dict[str, Document | EncodedDocument] = {}
        # The checkpoint this projector last wrote for its generation: what it holds at least,
        # known without a read (another process's projector may have gone further).
        self.written: int | None = None
        # Queries and the follower ask at once under load: one read answers them together
        # (a switch a moment before the read under way began is seen at the next look).
        self._generations = CoalescedRead(partial(store.generations, projection.name), fresh=False)

    async def refresh_generation(self) -> bool:
        """Follow the active generation (after a replay switched it); True if it changed."""
        if self._fixed_generation is not None:
            return False
        active, _ = await self._generations()
        changed = active != self.generation
        self.generation = active
        if changed:
            self.written = None
        return changed

    @property
    def collection(self) -> str:
        return collection_name(self.projection.name, self.generation)

    async def position(self) -> int | None:
        return await self.store.checkpoint(checkpoint_name(self.projection.name, self.generation))

    @property
    def name(self) -> str:
        return self.projection.name

    async def process(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        """Apply `batch` and store `covered` (default: its last position) as the checkpoint,
        in one write; an empty batch with `covered` moves the checkpoint only."""
        if not batch and covered is None:
            return
        position = batch[-1].position if covered is None else covered
        # Before the generation's first checkpoint no document can be newer than the batch;
        # once this projector wrote one, it knows there is one without a read.
        from_log_start = self.written is None and await self.position() is None
        changes = await self._changes(batch, from_log_start=from_log_start) if batch else {}
        await self._write(changes, position)

    async def _changes(
        self,
        batch: Sequence[RecordedEvent],
        known: Mapping[str, Document] | None = None,
        *,
        from_log_start: bool = False,
        traced: bool = True,
    ) -> dict[str, Document]:
        """The documents the batch changes; `known`: documents as they are being written.

        `from_log_start`: the batch begins the log, so each document is folded from its
        first event without reading a stored one (the guarded write keeps any stored one
        that is as new).
        """
        changed: dict[str, Document] = {}
        chunks = self._changed_chunks(
            batch, known or {}, from_log_start=from_log_start, traced=traced, chunk=None
        )
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                changed.update(chunk)
        return changed

    async def _changed_chunks(
        self,
        batch: Sequence[RecordedEvent],
        known: Mapping[str, Document],
        *,
        from_log_start: bool,
        traced: bool,
        chunk: int | None,
    ) -> AsyncGenerator[dict[str, Document]]:
        """`_changes` in chunks of `chunk` documents (None: one)."""
        handled: dict[str, bool] = {}
        for event in batch:
            if event.stream not in handled:
                handled[event.stream] = self.projection.handles(event.stream)
        mine = [event for event in batch if handled[event.stream]]
        if not mine:
            return
        folded = self._folded(
            mine, known, read_stored=not from_log_start, traced=traced, chunk=chunk
        )
        async with contextlib.aclosing(folded):
            async for changed in folded:
                yield changed

    async def _write(self, documents: Mapping[str, Document], position: int) -> None:
        """The documents and the checkpoint in one write."""
        erasing = await self._erase_first(documents)
        name = checkpoint_name(self.projection.name, self.generation)
        await self.store.write(
            self.collection, list(documents.values()), checkpoint_name=name, position=position
        )
        await self._written(documents, erasing, position)

    async def _write_encoded(self, documents: Mapping[str, EncodedDocument], events: int) -> None:
        """A stream pass's documents, serialised, and the count of events folded so far (kept
        under `stream_pass_name`: a stream pass has no log position until it ends)."""
        erasing = await self._erase_first(documents)
        name = stream_pass_name(self.projection.name, self.generation)
        await self.store.write_encoded(
            self.collection, list(documents.values()), checkpoint_name=name, position=events
        )
        await self._written(documents, erasing, None)

    async def _erase_first(self, documents: Mapping[str, D]) -> list[str]:
        """The ids of the documents whose erasure is to be written, the other generations'
        copies replaced already: before the checkpoint moves, so a crash in between erases
        again on the next try."""
        erasing = [i for i, document in documents.items() if self._erasing.get(i) is document]
        if erasing:
            await self._erase_in_other_generations([_decoded(documents[i]) for i in erasing])
        return erasing

    async def _written(
        self, documents: Mapping[str, D], erasing: Sequence[str], position: int | None
    ) -> None:
        """What follows a write: replaced copies erased, the erasures done with noted, and
        (with a log `position`) the checkpoint known."""
        if erasing:
            await self.store.erase_replaced()
            for doc_id in erasing:
                if self._erasing.get(doc_id) is documents[doc_id]:
                    del self._erasing[doc_id]
        if position is not None:
            self.written = position
        self._progressed.set()
        self._progressed = asyncio.Event()

    async def wait_for_progress(self, timeout: float) -> None:
        """Until this projector wrote its next batch, or `timeout` seconds at the latest."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._progressed.wait()

    async def _erase_in_other_generations(self, documents: Sequence[Document]) -> None:
        """Replace the erased documents in every other generation kept (the previous one,
        kept for a switch back; one a replay is building), which nobody else updates now.

        Their higher `_version` makes a projector of that generation skip the events they
        already hold, so the generation stays what a projector would have made of the log.
        """
        active, building = await self.store.generations(self.projection.name)
        others = {active, active - 1, building} - {self.generation, None, 0}
        for generation in sorted(g for g in others if g is not None):
            collection = collection_name(self.projection.name, generation)
            held = await self.store.get_many(collection, [d["_id"] for d in documents])
            replacing = [d for d in documents if d["_id"] in held]
            if not replacing:
                continue
            name = checkpoint_name(self.projection.name, generation)
            position = await self.store.checkpoint(name) or 0
            await self.store.write(collection, replacing, checkpoint_name=name, position=position)

    async def _folded(
        self,
        events: Sequence[RecordedEvent],
        known: Mapping[str, Document],
        *,
        read_stored: bool,
        traced: bool = True,
        chunk: int | None = None,
    ) -> AsyncGenerator[dict[str, Document]]:
        """Each document touched by the batch, read once, folded over its events, once;
        those whose personal data an event erased are noted for `_write`. In chunks of
        `chunk` documents (None: all in one), the event loop turning now and then meanwhile."""
        streams: dict[str, list[RecordedEvent]] = {}
        for event in events:
            streams.setdefault(event.stream, []).append(event)
        ids = {stream: self.projection.document_id(stream) for stream in streams}
        # A stream whose events in the batch run from its first one, none missing, is folded
        # from scratch: the guarded write keeps a stored document that is as new (a batch
        # handed again). A redelivery may also mix old and new events: those read it.
        unknown = [
            doc_id
            for stream, doc_id in ids.items()
            if doc_id not in known and not _from_first_event(streams[stream])
        ]
        unknown = unknown if read_stored else []
        stored = await self.store.get_many(self.collection, unknown) if unknown else {}
        stored.update((doc_id, known[doc_id]) for doc_id in ids.values() if doc_id in known)
        pending = {
            stream: fresh
            for stream, recorded in streams.items()
            if (fresh := _not_applied(stored.get(ids[stream]), recorded))
        }
        keys = await self._keys(pending)
        # A rebuild's events are history even when recent: a span each would slow it.
        traced_since = datetime.now(UTC) - TRACED_RECENT if traced else None
        changed: dict[str, Document] = {}
        # Chunks of even size, none much below `chunk` (a store writes large writes faster).
        per = -(-len(pending) // max(1, len(pending) // chunk)) if chunk else len(pending)
        for count, (stream, recorded) in enumerate(pending.items(), 1):
            if chunk is not None and count % FOLDS_PER_TURN == 0:
                await asyncio.sleep(0)
            envelopes = self.mapper.to_envelopes(recorded, key=keys.get(stream))
            doc_id = ids[stream]
            if traced_since is None:
                updated = self.projection.fold(stored.get(doc_id), envelopes)
            else:
                updated = self._traced_fold(stored.get(doc_id), envelopes, traced_since)
            if updated is not None:
                changed[doc_id] = _stamped(updated, doc_id, recorded)
                if _erases(envelopes):
                    self._erasing[doc_id] = updated
            if chunk is not None and count % per == 0 and changed:
                yield changed
                changed = {}
        if changed or chunk is None:
            yield changed

    def _traced_fold(
        self, document: Document | None, envelopes: Sequence[Envelope], since: datetime
    ) -> Document | None:
        with contextlib.ExitStack() as spans:  # each event's work in its request's trace
            for envelope in envelopes:
                if envelope.recorded_at >= since:  # a catch-up's history: no spans
                    spans.enter_context(consuming(self.projection.name, envelope))
            return self.projection.fold(document, envelopes)

    async def _keys(self, streams: Mapping[str, Sequence[RecordedEvent]]) -> dict[str, bytes]:
        """The keys of the streams whose events carry sealed personal data, looked up together."""
        sealed = [
            stream
            for stream, recorded in streams.items()
            if any(self.mapper.is_sealed(event) for event in recorded)
        ]
        return await self._keys_of(sealed)

    async def _keys_of(self, streams: Iterable[str]) -> dict[str, bytes]:
        """The keys of `streams` that have one, looked up together."""
        subjects = {
            stream: subject
            for stream in streams
            if (subject := self.projection.key_subject(stream)) is not None
        }
        found = await self.keyring.keys_for(list(subjects.values()))
        return {stream: found[s] for stream, s in subjects.items() if s in found}

    async def catch_up(
        self,
        events: EventStore,
        *,
        until: int | None = None,
        batch_size: int = 1000,
        progress: Progress | None = None,
    ) -> int:
        """Process the log from the checkpoint up to `until` (default: the head now)."""
        runner = Runner(self, events=events, batch_size=batch_size)
        return await runner.catch_up(until=until, progress=progress)

    async def rebuild(
        self,
        events: EventStore,
        *,
        batch_size: int,
        until: int | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Bring a generation being built up to `until` (default: the head now), in batches
        of `batch_size` events; the number of events processed.

        The log is read in pages, the next one while a batch is folded; a batch's write (its
        documents and checkpoint, one transaction) runs while the next batch is folded on top
        of them, and each write starts only once the one before succeeded, so the checkpoint
        never passes a batch that is not written.
        """
        until = until if until is not None else await events.head_position()
        position = await self.position()
        if until is None or (position is not None and position >= until):
            return 0
        prefix = getattr(self.projection, "stream_prefix", None)
        if not position and isinstance(prefix, str) and prefix and events.reads_in_stream_order:
            opener = events.stream_range_opener()
            if FORKED_FOLDS > 0 and forked.AVAILABLE and opener is not None:
                return await self._rebuild_in_workers(
                    events, prefix, opener, batch_size=batch_size, until=until, progress=progress
                )
            return await self._rebuild_by_stream(
                events, prefix, batch_size=batch_size, until=until, progress=progress
            )
        from_log_start, processed, batch = position is None, 0, []
        writes = _Writes(self._write)
        size = min(PAGE_SIZE, batch_size)
        pages = _pages(events, after=position, until=until, size=size, ahead=batch_size // size)
        try:
            async with contextlib.aclosing(pages):
                async for page in pages:
                    batch.extend(page)
                    if len(batch) < batch_size and page[-1].position < until:
                        continue
                    await self._fold_and_write(batch, writes, position, from_log_start)
                    position = batch[-1].position
                    from_log_start, processed = False, processed + len(batch)
                    if (
                        progress is not None
                        and (maybe := progress(batch[-1].position, until)) is not None
                    ):
                        await maybe
                    batch = []
            if batch:  # the log ended short of `until`
                await self._fold_and_write(batch, writes, position, from_log_start)
                processed += len(batch)
            await writes.finish()
        finally:
            await writes.settle()
        return processed

    async def _rebuild_by_stream(
        self,
        events: EventStore,
        prefix: str,
        *,
        batch_size: int,
        until: int,
        progress: Progress | None,
    ) -> int:
        """A rebuild from nothing (no checkpoint, or 0: no event applied in log order yet),
        stream after stream, in this process: each document folded from its first event to
        `until` once, so derived once and written once, in `_id` order. Meanwhile the events
        folded so far are kept under `stream_pass_name` (how far it got); the checkpoint
        moves from none to `until` once the last document is written. A crash before starts
        it again (the guarded write keeps what is already stored)."""
        processed, batch = 0, []
        writes = _Writes(self._write_encoded)
        size = min(PAGE_SIZE, batch_size)
        pages = _stream_pages(events, prefix, until=until, size=size, ahead=batch_size // size)
        try:
            await writes.start({}, 0)
            async with contextlib.aclosing(pages):
                async for page in pages:
                    batch.extend(page)
                    if len(batch) < batch_size:
                        continue
                    whole, batch = _last_stream_apart(batch)
                    if not whole:  # one stream longer than a batch: read on to its end
                        continue
                    await self._fold_streams_and_write(whole, writes, processed)
                    processed += len(whole)
                    if progress is not None and (maybe := progress(processed, until)) is not None:
                        await maybe
            await self._fold_streams_and_write(batch, writes, processed)
            processed += len(batch)
            await writes.finish()
            await self._write({}, until)
        finally:
            await writes.settle()
        return processed

    async def _fold_streams_and_write(
        self, batch: Sequence[RecordedEvent], writes: _Writes[EncodedDocument], before: int
    ) -> None:
        """Whole streams folded from scratch in chunks, each written while the next is
        folded, the last one noting the `before` + len(batch) events folded."""
        chunks = self._changed_chunks(
            batch, {}, from_log_start=True, traced=False, chunk=FOLD_CHUNK
        )
        held: dict[str, EncodedDocument] | None = None
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                if held is not None:
                    await writes.start(held, before)
                held = self._encoded(chunk)
        await writes.start(held or {}, before + len(batch))

    async def _rebuild_in_workers(
        self,
        events: EventStore,
        prefix: str,
        opener: Callable[[], StreamRangeReader],
        *,
        batch_size: int,
        until: int,
        progress: Progress | None,
    ) -> int:
        """`_rebuild_by_stream` with the reading and folding done by FORKED_FOLDS worker
        processes, forked once, each reading the log over its own connection: this process
        hands a worker that is free the next range of whole streams of about `batch_size`
        events (and their keys), and writes the documents the workers send back, range after
        range, each range in one write, while the workers fold the next ones."""
        processed = 0
        writes = _Writes(self._write_encoded)
        serve = partial(_serving_folds, self.projection, self.mapper, opener)
        workers = [forked.Worker.start(serve) for _ in range(FORKED_FOLDS)]
        # The folds asked, in the order of their ranges; None after the last.
        folds: asyncio.Queue[_Fold | None] = asyncio.Queue(FORKED_FOLDS)
        ranges = self._stream_ranges(events, prefix, until=until, size=batch_size)
        asked: list[asyncio.Future[dict[str, EncodedDocument]]] = []
        asking = asyncio.ensure_future(self._ask_workers(workers, ranges, until, folds, asked))
        try:
            await writes.start({}, 0)
            while (fold := await folds.get()) is not None:
                documents, count = await fold[0], fold[1]
                processed += count
                await writes.start(documents, processed)
                if progress is not None and (maybe := progress(processed, until)) is not None:
                    await maybe
            await writes.finish()
            await self._write({}, until)
        finally:
            asking.cancel()
            await asyncio.wait({asking})
            left = {*asked, *(fold[0] for fold in _drained(folds))}
            for folding in left:
                folding.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            for worker in workers:
                worker.end()
            await ranges.aclose()
            await writes.settle()
        return processed

    async def _ask_workers(
        self,
        workers: Sequence[forked.Worker],
        ranges: AsyncGenerator[tuple[list[str], int]],
        until: int,
        folds: asyncio.Queue[_Fold | None],
        asked: list[asyncio.Future[dict[str, EncodedDocument]]],
    ) -> None:
        """Each range asked of the first worker free and put in `folds`, which holds as many
        as there are workers: the workers wait when the writes fall behind. `asked`: the
        folds not done yet, for the caller to end (done ones are dropped, documents and all).
        What fails here is put in `folds` too, as a fold that failed."""
        free: asyncio.Queue[forked.Worker] = asyncio.Queue()
        for worker in workers:
            free.put_nowait(worker)
        try:
            async for run, count in ranges:
                request = await self._fold_request(run, until)
                worker = await free.get()
                folding = asyncio.ensure_future(self._folded_range(worker, request))
                folding.add_done_callback(partial(_freed, free, worker))
                asked[:] = [*(fold for fold in asked if not fold.done()), folding]
                await folds.put((folding, count))
        except Exception as error:
            failed: asyncio.Future[dict[str, EncodedDocument]] = asyncio.Future()
            failed.set_exception(error)
            await folds.put((failed, 0))
            return
        await folds.put(None)

    async def _stream_ranges(
        self, events: EventStore, prefix: str, *, until: int, size: int
    ) -> AsyncGenerator[tuple[list[str], int]]:
        """The streams named `prefix...` with events up to `until`, in name order, in runs
        of about `size` events (at least one stream each), with their count of events."""
        after: str | None = None
        run: list[str] = []
        count = 0
        while sizes := await events.stream_sizes(
            prefix=prefix, after=after, until=until, limit=STREAM_SIZES_READ
        ):
            for stream, events_in_stream in sizes:
                run.append(stream)
                count += events_in_stream
                if count >= size:
                    yield run, count
                    run, count = [], 0
            after = sizes[-1][0]
        if run:
            yield run, count

    async def _fold_request(self, run: list[str], until: int) -> bytes:
        """What a worker is asked to fold the streams `run` (in name order) up to `until`
        with: the first and the last of them, `until`, and their keys."""
        return pickle.dumps((run[0], run[-1], until, await self._keys_of(run)))

    async def _folded_range(
        self, worker: forked.Worker, request: bytes
    ) -> dict[str, EncodedDocument]:
        """The documents `worker` folds for `request`; those whose personal data an event
        erased are noted for `_write`."""
        folded: dict[str, EncodedDocument] = {}
        answer = await worker.ask(request, within=FORKED_FOLD_SECONDS)
        for document, erases in _unpacked(answer):
            folded[document.id] = document
            if erases:
                self._erasing[document.id] = document
        return folded

    def _encoded(self, documents: Mapping[str, Document]) -> dict[str, EncodedDocument]:
        """The documents serialised, those whose erasure is to be written noted as such."""
        serialised: dict[str, EncodedDocument] = {}
        for doc_id, document in documents.items():
            serialised[doc_id] = encoded(document)
            if self._erasing.get(doc_id) is document:
                self._erasing[doc_id] = serialised[doc_id]
        return serialised

    async def _fold_and_write(
        self,
        batch: Sequence[RecordedEvent],
        writes: _Writes[Document],
        written: int | None,
        from_log_start: bool,
    ) -> None:
        """A rebuild's batch folded in chunks, each written while the next is folded: the
        last one moves the checkpoint to the batch's end, those before keep it at `written`
        (the batch before; 0 before the first, as nothing is applied yet)."""
        folded: dict[str, Document] = {}
        held: dict[str, Document] | None = None
        chunks = self._changed_chunks(
            batch, writes.documents, from_log_start=from_log_start, traced=False, chunk=FOLD_CHUNK
        )
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                if held is not None:
                    await writes.start(held, written or 0, known=folded)
                folded.update(chunk)
                held = chunk
        await writes.start(held or {}, batch[-1].position, known=folded)


def _serving_folds(
    projection: Projection, mapper: EventMapper, opener: Callable[[], StreamRangeReader]
) -> Callable[[bytes], bytes]:
    """In a rebuild's worker: the log opened there, and what answers a request (the first
    and last stream of a range, the log position to stop at, the streams' keys) with the
    range's documents, `_packed`."""
    read = opener()

    def serve(request: bytes) -> bytes:
        first, last, until, keys = pickle.loads(request)
        streams: dict[str, list[RecordedEvent]] = {}
        for event in read(first, last, until):
            if (recorded := streams.get(event.stream)) is not None:
                recorded.append(event)
            elif projection.handles(event.stream):
                streams[event.stream] = [event]
        return _fold_streams(projection, mapper, streams, keys)

    return serve


def _fold_streams(
    projection: Projection,
    mapper: EventMapper,
    streams: Mapping[str, Sequence[RecordedEvent]],
    keys: Mapping[str, bytes],
) -> bytes:
    """Each stream's document folded from its first event, serialised, and whether an event
    erased personal data: what a forked child sends back (`_packed`)."""
    folded: list[tuple[EncodedDocument, bool]] = []
    for stream, recorded in streams.items():
        envelopes = mapper.to_envelopes(recorded, key=keys.get(stream))
        document = projection.fold(None, envelopes)
        if document is None:
            continue
        doc_id = projection.document_id(stream)
        folded.append((encoded(_stamped(document, doc_id, recorded)), _erases(envelopes)))
    return _packed(folded)


def _packed(folded: Sequence[tuple[EncodedDocument, bool]]) -> bytes:
    """The length of a JSON head (id, version, erased, terms, body length of each document),
    the head, then the bodies one after another: the bodies travel as they are."""
    head = orjson.dumps(
        [(d.id, d.version, erases, d.search_terms, len(d.body)) for d, erases in folded]
    )
    return b"".join([len(head).to_bytes(8, "big"), head, *(d.body for d, _ in folded)])


def _unpacked(packed: bytes | memoryview) -> Iterator[tuple[EncodedDocument, bool]]:
    """`_packed` read back."""
    at = 8 + int.from_bytes(packed[:8], "big")
    for doc_id, version, erases, terms, length in orjson.loads(packed[8:at]):
        yield EncodedDocument(doc_id, version, bytes(packed[at : at + length]), terms), erases
        at += length


def _decoded(document: Document | EncodedDocument) -> Document:
    return document.document() if isinstance(document, EncodedDocument) else document


def _stamped(document: Document, doc_id: str, recorded: Sequence[RecordedEvent]) -> Document:
    """The folded document with its id and the stream version it was folded to."""
    document["_id"] = doc_id
    document["_version"] = recorded[-1].revision + 1
    return document


def _erases(envelopes: Sequence[Envelope]) -> bool:
    return any(envelope.event.erases_personal_data for envelope in envelopes)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic collector off for a rebuild: the batch's events and documents survive
    many young collections, so each full one walks millions of objects that hold no cycles
    (reference counting frees them). The few cycles made meanwhile (futures, tracebacks)
    are collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Writes(Generic[D]):
    """A rebuild's writes, one in flight at a time, so the next batch is folded meanwhile
    (on top of `documents`, the ones being written); each starts once the last succeeded."""

    def __init__(self, write: Callable[[Mapping[str, D], int], Awaitable[None]]) -> None:
        self._write: Callable[[Mapping[str, D], int], Awaitable[None]] = write
        self._pending: asyncio.Future[None] | None = None
        self.documents: Mapping[str, D] = {}

    async def start(
        self,
        documents: Mapping[str, D],
        position: int,
        *,
        known: Mapping[str, D] | None = None,
    ) -> None:
        """Write `documents` once the write before succeeded; `known`: the documents the
        next batch folds on top of (default: these)."""
        await self.finish()
        self._pending = asyncio.ensure_future(self._write(documents, position))
        self.documents = documents if known is None else known

    async def finish(self) -> None:
        """Wait for the write in flight; raises what made it fail."""
        if self._pending is not None:
            await self._pending

    async def settle(self) -> None:
        """On the way out after a failure: let a write in flight end, its outcome unasked."""
        if self._pending is None:
            return
        if not self._pending.done():
            await asyncio.wait({self._pending})
        if not self._pending.cancelled():
            self._pending.exception()  # retrieved: what failed first is what is raised


def _pages(
    events: EventStore, *, after: int | None, until: int, size: int, ahead: int = 1
) -> AsyncGenerator[list[RecordedEvent]]:
    """The log after `after` up to (at least) `until`, in pages of `size` events; up to
    `ahead` pages are read while the caller works on the one it was given (a rebuild's next
    batch is read while it folds one, rather than page by page after it)."""
    position = after

    async def read() -> list[RecordedEvent]:
        nonlocal position
        if position is not None and position >= until:
            return []
        page = await events.read_all(after=position, limit=size)
        position = page[-1].position if page else until
        return page

    return _read_ahead(read, ahead)


def _stream_pages(
    events: EventStore, prefix: str, *, until: int, size: int, ahead: int = 1
) -> AsyncGenerator[list[RecordedEvent]]:
    """The events of the streams named `prefix...` up to `until`, stream after stream, in
    pages of `size` events, read ahead like `_pages`."""
    after: tuple[str, int] | None = None

    async def read() -> list[RecordedEvent]:
        nonlocal after
        page = await events.read_in_stream_order(
            prefix=prefix, after=after, until=until, limit=size
        )
        if page:
            after = (page[-1].stream, page[-1].revision)
        return page

    return _read_ahead(read, ahead)


async def _read_ahead(
    read: Callable[[], Awaitable[list[RecordedEvent]]], ahead: int
) -> AsyncGenerator[list[RecordedEvent]]:
    """The pages `read` returns until an empty one, up to `ahead` of them read meanwhile."""
    queue: asyncio.Queue[list[RecordedEvent] | Exception] = asyncio.Queue(max(1, ahead))

    async def reader() -> None:
        try:
            while True:
                page = await read()
                await queue.put(page)
                if not page:
                    return
        except Exception as error:  # the reader's failure is the caller's
            await queue.put(error)

    task = asyncio.ensure_future(reader())
    try:
        while True:
            page = await queue.get()
            if isinstance(page, Exception):
                raise page
            if not page:
                return
            yield page
    finally:
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()


def _last_stream_apart(
    events: list[RecordedEvent],
) -> tuple[list[RecordedEvent], list[RecordedEvent]]:
    """Events in stream order split before the last stream's first event: that stream may
    go on in the next page."""
    last = events[-1].stream
    cut = len(events)
    while cut > 0 and events[cut - 1].stream == last:
        cut -= 1
    return events[:cut], events[cut:]


@contextlib.asynccontextmanager
async def projectors_following(
    projectors: Sequence[Projector], events: EventStore, *, batch_size: int = 500
) -> AsyncIterator[None]:
    """Run projectors live in the background for the duration of the block (a service's life)."""
    runners = [Runner(p, events=events, batch_size=batch_size) for p in projectors]
    async with following(runners):
        yield


def _drained(queue: asyncio.Queue[_Fold | None]) -> list[_Fold]:
    """What the queue still holds, taken out."""
    held: list[_Fold] = []
    while not queue.empty():
        if (item := queue.get_nowait()) is not None:
            held.append(item)
    return held


def _freed(free: asyncio.Queue[forked.Worker], worker: forked.Worker, _: object) -> None:
    free.put_nowait(worker)


def _from_first_event(events: Sequence[RecordedEvent]) -> bool:
    return all(event.revision == n for n, event in enumerate(events))


def _not_applied(document: Document | None, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """The events a document has not seen yet: a redelivery or a replay over a crash is skipped."""
    version = 0 if document is None else int(document.get("_version", 0))
    fresh: list[RecordedEvent] = []
    for event in events:
        if event.revision >= version:
            fresh.append(event)
            version = event.revision + 1
    return fresh
