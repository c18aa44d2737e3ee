"""The one runtime every consumer runs in: following the log, batching, backoff, attempts and
parking, progress, stop. Whatever feeds it (the event store's log here, a Kafka agent through
`bus.handlers.ConsumerFeed`), a batch goes through `handle`.

A failing batch is tried again (the driver pauses by `backoff`); once it failed `max_attempts`
times its events are tried one by one, and one that still fails is parked with its error: the
consumer moves on, and its stream's later events park behind it, so no stream is applied out
of order. Without a parked store (the relay) a failing batch is retried for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from itertools import groupby
from typing import Any

import structlog

from customerhub_shared.consumers.backoff import backoff
from customerhub_shared.consumers.parked import ParkedEvent, ParkedStore
from customerhub_shared.consumers.port import Consumer, Refreshing
from customerhub_shared.consumers.waiting import Progressed
from customerhub_shared.eventstore import EventStore, RecordedEvent

log = structlog.get_logger(__name__)
Progress = Callable[[int, int | None], Awaitable[None] | None]
Idle = Callable[[float], Awaitable[None]]
IDLE_PAUSE_SECONDS = 0.05
AFTER_BATCH_PAUSE_SECONDS = 0.002
MARKS_EVERY_SECONDS = 0.5
BEHIND = "parked behind an earlier event of its stream"


class Runner:
    def __init__(
        self,
        consumer: Consumer,
        *,
        events: EventStore | None,
        batch_size: int = 500,
        parked: ParkedStore | None = None,
        max_attempts: int = 5,
        idle_pause: float = IDLE_PAUSE_SECONDS,
        idle: Idle | None = None,
    ) -> None:
        """`idle`: how the follower rests when caught up (default: `idle_pause` or stop)."""
        self.consumer = consumer
        self.events = events
        self.batch_size = batch_size
        self.parked = parked
        self.max_attempts = max_attempts
        self.idle_pause = idle_pause
        self.progressed = Progressed()
        self.processed = 0
        self._idle = idle
        self._failing: tuple[object, int] | None = None
        self._handled_last = False
        self._marks_seen = 0.0
        self._progress = ProgressLog(self.name)

    @property
    def name(self) -> str:
        return self.consumer.name

    async def position(self) -> int | None:
        return await self.consumer.position()

    async def catch_up(
        self,
        *,
        until: int | None = None,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
    ) -> int:
        """Process the log from the position up to `until` (default: the head now), or until
        `stop` is set; the number of events processed. A failure is raised."""
        assert self.events is not None, "catching up needs the event store"
        until = until if until is not None else await self.events.head_position()
        processed = 0
        position = await self.position()
        while until is not None and (position is None or position < until):
            if stop is not None and stop.is_set():
                break
            batch = await self.events.read_all(after=position, limit=self.batch_size)
            if not batch:
                break
            await self.handle(batch)
            processed += len(batch)
            position = batch[-1].position
            if progress is not None and (maybe := progress(position, until)) is not None:
                await maybe
        return processed

    async def follow(self, *, stop: asyncio.Event) -> None:
        """Keep up with the log until `stop` is set (a batch under way is finished first)."""
        failures = 0
        while not stop.is_set():
            try:
                await self.apply_marked()
                caught_up = await self._step()
                failures = 0
            except Exception:
                failures += 1
                log.exception("consumer.batch_failed", consumer=self.name, failures=failures)
                caught_up = True
            if caught_up and not stop.is_set():
                await self._rest(backoff(failures) if failures else self._pause(), stop)

    async def _step(self) -> bool:
        """Handle the next batch; True when the log had no full batch left."""
        assert self.events is not None, "following needs the event store"
        if isinstance(self.consumer, Refreshing):
            await self.consumer.refresh_generation()
        position = await self.position()
        batch = await self.events.read_following(after=position, limit=self.batch_size)
        if batch:
            await self.handle(batch)
        self._handled_last = bool(batch)
        return len(batch) < self.batch_size

    def _pause(self) -> float:
        """An append made while a batch was handled woke no one (the rest listens from its
        start): after a batch, the next look comes soon whether an append wakes it or not."""
        if self._handled_last and self._idle is None:
            return min(self.idle_pause, AFTER_BATCH_PAUSE_SECONDS)
        return self.idle_pause

    async def _rest(self, pause: float, stop: asyncio.Event) -> None:
        if self._idle is not None:
            await self._idle(pause)
            return
        stopped = asyncio.ensure_future(stop.wait())
        rest: list[asyncio.Future[Any]] = [stopped]
        if self.events is not None:  # an append ends the rest at once
            rest.append(asyncio.ensure_future(self.events.appended(pause)))
        try:
            await asyncio.wait(rest, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in rest:
                waiting.cancel()

    async def handle(self, batch: Sequence[RecordedEvent], *, covered: int | None = None) -> None:
        """Process one batch (storing `covered`, default its last position). A failure is
        raised for the driver to pause and hand the batch again, until the batch failed
        `max_attempts` times: then it is taken apart and what keeps failing is parked."""
        covered = covered if covered is not None else batch[-1].position
        kept = await self._park_behind(batch)
        try:
            await self.consumer.process(kept, covered=covered)
        except Exception as error:
            if not kept or not self._attempts_exhausted(kept):
                raise
            log.error("consumer.batch_taken_apart", consumer=self.name, error=type(error).__name__)
            await self._one_by_one(kept, covered)
        self._failing = None
        self._done(batch, covered)

    def _attempts_exhausted(self, batch: Sequence[RecordedEvent]) -> bool:
        if self.parked is None:
            return False
        first = batch[0].id
        failed = self._failing[1] + 1 if self._failing and self._failing[0] == first else 1
        self._failing = (first, failed)
        return failed >= self.max_attempts

    def _done(self, batch: Sequence[RecordedEvent], covered: int) -> None:
        self.processed += len(batch)
        self.progressed.signal()
        self._progress.tick(self.processed, covered)

    async def _park_behind(self, batch: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """The batch without the events of streams with a parked event, which park behind it."""
        if self.parked is None:
            return list(batch)
        blocked = await self.parked.blocked_streams(self.name)
        kept = []
        for event in batch:
            if event.stream in blocked:
                await self.parked.park(self.name, event, error=BEHIND, attempts=0)
            else:
                kept.append(event)
        return kept

    async def _one_by_one(self, batch: Sequence[RecordedEvent], covered: int) -> None:
        assert self.parked is not None
        floor = await self.position() or 0
        blocked: set[str] = set()
        for event in batch:
            if event.stream in blocked:
                await self.parked.park(self.name, event, error=BEHIND, attempts=0)
                continue
            error = await self._alone(event, covered=max(floor, event.position))
            if error is not None:
                await self.parked.park(self.name, event, error=error, attempts=self.max_attempts)
                blocked.add(event.stream)
                log.error(
                    "consumer.event_parked",
                    consumer=self.name,
                    position=event.position,
                    event_type=event.type,
                    error=error.split(":", 1)[0],
                )
        await self.consumer.process([], covered=covered)

    async def _alone(self, event: RecordedEvent, *, covered: int) -> str | None:
        """Process one event, with up to `max_attempts` tries; the last error if all failed."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self.consumer.process([event], covered=covered)
                return None
            except Exception as error:
                if attempt == self.max_attempts:
                    return f"{type(error).__name__}: {error}"[:500]
                await asyncio.sleep(backoff(attempt))
        return None

    async def apply_marked(self, *, now: float | None = None) -> None:
        """Apply what an operator marked for retry (or skipped), each stream in its order."""
        now = time.monotonic() if now is None else now
        if self.parked is None or now - self._marks_seen < MARKS_EVERY_SECONDS:
            return
        self._marks_seen = now
        rows = await self.parked.parked(self.name)
        if not any(row.status != "parked" for row in rows):
            return
        for _, stream_rows in groupby(rows, key=lambda row: row.event.stream):
            await self._apply_stream(sorted(stream_rows, key=lambda row: row.event.position))

    async def _apply_stream(self, rows: Sequence[ParkedEvent]) -> None:
        assert self.parked is not None
        for row in rows:
            if row.status == "parked":
                return
            if row.status == "skipped":
                log.warning("consumer.parked_skipped", consumer=self.name, parked=row.id)
                await self.parked.remove(row.id)
                continue
            try:
                await self.consumer.process([row.event], covered=await self.position() or 0)
            except Exception as error:
                await self.parked.failed_again(row.id, f"{type(error).__name__}: {error}"[:500])
                log.error("consumer.retry_failed", consumer=self.name, parked=row.id)
                return
            await self.parked.remove(row.id)
            log.info("consumer.parked_applied", consumer=self.name, parked=row.id)
        self.progressed.signal()


class ProgressLog:
    """An info line at most every few seconds while events flow: count, position, rate."""

    EVERY_SECONDS = 10.0

    def __init__(self, consumer: str) -> None:
        self._consumer = consumer
        self._since = time.monotonic()
        self._count = 0

    def tick(self, count: int, position: int | None) -> None:
        now = time.monotonic()
        if now - self._since < self.EVERY_SECONDS:
            return
        rate = (count - self._count) / (now - self._since)
        log.info(
            "consumer.progress",
            consumer=self._consumer,
            processed=count,
            position=position,
            events_per_s=round(rate),
        )
        self._since, self._count = now, count


@contextlib.asynccontextmanager
async def following(
    runners: Sequence[Runner], *, on_stop: Callable[[], None] = lambda: None
) -> AsyncIterator[None]:
    """Run log followers in the background for the duration of the block (a service's life)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(runner.follow(stop=stop)) for runner in runners]
    try:
        yield
    finally:
        stop.set()
        on_stop()
        await asyncio.gather(*tasks)
