"""The dispatcher: sends the pending deliveries of one channel and records how each ended.

Each round takes the deliveries that are due, records an attempt on each (so an attempt is
in the log before it is made), sends them with bounded concurrency and records each outcome
as it comes: sent; pending again with a later `next_attempt_at` after a transient failure
(exponential backoff with jitter, the provider's Retry-After as a floor); failed after a
permanent one or the last allowed attempt.

The one window for a duplicate: the process dies after the provider accepted a message and
before its outcome was recorded (or the provider accepted it but its answer was lost, e.g. a
timeout). The delivery is then still pending with its attempt open, and is sent again after
the restart. Only the current round's deliveries can be in that state: at most `batch_size`
per channel. Outcomes are recorded as they come (group commits), so in practice it is the
messages handed over during one write of outcomes, about `concurrency`. At start-up the open
attempts are logged and counted `in_doubt`: an upper bound of the duplicates the crash caused.
(Holding a send slot until its outcome is written would bound it by `concurrency`, but costs
a write's latency on every message: measured, it let a backlog build up under load.)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import structlog

from customerhub_shared.consumers.backoff import backoff
from customerhub_shared.tracing import SpanKind, continuing
from notifications.application.metrics import NotificationMetrics
from notifications.application.ports import (
    MessageSender,
    NotificationStore,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
)
from notifications.domain.deliveries import Delivery, Outcome, RetryPolicy

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class Dispatcher:
    def __init__(
        self,
        sender: MessageSender,
        store: NotificationStore,
        policy: RetryPolicy,
        metrics: NotificationMetrics,
        *,
        batch_size: int = 16,
        concurrency: int = 8,
        idle_seconds: float = 0.5,
        clock: Clock = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.sender = sender
        self.channel = sender.channel
        self.store = store
        self.policy = policy
        self.metrics = metrics
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.jitter = jitter
        self._slots = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """New deliveries were recorded: look now rather than at the next idle tick."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self._report_in_doubt()
        failures = 0
        while not stop.is_set():
            self._wakeup.clear()
            try:
                sent, next_due = await self.step()
                failures = 0
            except Exception:
                failures += 1
                log.exception("notifications.dispatch_failed", channel=self.channel)
                sent, next_due = 0, None
            if sent:
                continue
            pause = self.idle_seconds if failures == 0 else backoff(failures)
            if next_due is not None:
                pause = min(pause, max((next_due - self.clock()).total_seconds(), 0.0))
            await _first_of(stop, self._wakeup, timeout=pause)

    async def step(self) -> tuple[int, datetime | None]:
        """One round; (deliveries attempted, when the next waiting one is due)."""
        page = await self.store.due(self.channel, self.clock(), self.batch_size)
        if not page.deliveries:
            return 0, page.next_due_at
        started = await self.store.begin_attempts([d.id for d in page.deliveries], self.clock())
        recorder = _GroupRecorder(self.store)

        async def attempt(delivery: Delivery) -> None:
            async with self._slots:
                outcome = await self._attempt(delivery)
            # Recorded at once (with whatever else has come meanwhile), not at the round's end.
            await recorder.record(outcome)
            self._count(delivery, outcome[1])

        await asyncio.gather(*(attempt(delivery) for delivery in started))
        await self._forget_erased_meanwhile([delivery.id for delivery in started])
        return len(started), page.next_due_at

    async def _forget_erased_meanwhile(self, delivery_ids: list[UUID]) -> None:
        """The customer was anonymised while its message was being handed over: the consumer
        may have erased the sender's copies before this one was made."""
        current = await self.store.deliveries(delivery_ids)
        erased = [delivery.id for delivery in current if delivery.erased]
        if erased:
            await self.sender.forget(erased)

    async def _attempt(self, delivery: Delivery) -> tuple[UUID, Outcome]:
        if delivery.recipient is None or delivery.message is None:
            return delivery.id, Outcome("skipped", self.clock(), reason="erased")
        message = OutgoingMessage(
            delivery.id, delivery.channel, delivery.recipient, delivery.message
        )
        try:
            with continuing(
                f"notifications send {delivery.channel}",
                delivery.traceparent,
                kind=SpanKind.CLIENT,
                attributes={"customerhub.delivery_id": str(delivery.id)},
            ):
                sent = await self.sender.send(message)
        except TransientFailure as failure:
            return delivery.id, self.policy.after_transient(
                delivery,
                at=self.clock(),
                reason=failure.reason,
                error=failure.detail,
                jitter=self.jitter(),
                retry_after=failure.retry_after,
            )
        except PermanentFailure as failure:
            outcome = Outcome("failed", self.clock(), reason=failure.reason, error=failure.detail)
            return delivery.id, outcome
        except Exception:
            # A sender bug: logged with its traceback and the delivery failed where the log
            # shows it, rather than retried round after round for ever.
            log.exception("notifications.sender_error", channel=self.channel)
            return delivery.id, Outcome("failed", self.clock(), reason="internal_error")
        return delivery.id, Outcome(
            "sent", self.clock(), provider_message_id=sent.provider_message_id
        )

    def _count(self, delivery: Delivery, outcome: Outcome) -> None:
        event = "retried" if outcome.status == "pending" else outcome.status
        self.metrics.count(self.channel, event)
        log.info(
            "notifications.attempted",
            delivery_id=str(delivery.id),
            customer_id=str(delivery.customer_id),
            channel=self.channel,
            template=delivery.template,
            attempt=delivery.attempts,
            outcome=event,
            reason=outcome.reason,
        )

    async def _report_in_doubt(self) -> None:
        in_doubt = await self.store.open_attempts(self.channel)
        if in_doubt:
            # Stopped between handing messages over and recording it: these go out again.
            self.metrics.count(self.channel, "in_doubt", in_doubt)
            log.warning("notifications.in_doubt", channel=self.channel, count=in_doubt)


class _GroupRecorder:
    """Records outcomes as soon as they come, in as few writes as the store's pace allows:
    whoever finds no write in progress writes everything that has come so far. This keeps
    the duplicate window to the messages sent while one write is under way, not a round."""

    def __init__(self, store: NotificationStore) -> None:
        self._store = store
        self._waiting: list[tuple[UUID, Outcome]] = []
        self._writing = asyncio.Lock()

    async def record(self, outcome: tuple[UUID, Outcome]) -> None:
        self._waiting.append(outcome)
        async with self._writing:
            if self._waiting:
                group, self._waiting = self._waiting, []
                await self._store.settle(group)


async def _first_of(stop: asyncio.Event, wakeup: asyncio.Event, *, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
