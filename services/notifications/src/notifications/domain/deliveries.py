"""A delivery: one message to one contact on one channel, and its life in the delivery log.

Its id is derived from what caused it (an event, or a request), the contact and the channel,
so deriving it again — a replayed or redelivered event, a retried request — names the same
delivery, which the log already holds: nothing is sent twice for the same cause.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from notifications.domain.templates import Channel

Status = Literal["pending", "sent", "failed", "skipped"]
REQUEST_CAUSE = "request"
_DELIVERY_IDS = uuid.UUID("0b6f3f8e-2f8a-4d0c-9d55-7a3e2c1b9f10")


def delivery_id(cause_id: UUID, contact_id: UUID, channel: Channel) -> UUID:
    return uuid.uuid5(_DELIVERY_IDS, f"{cause_id}\x1f{contact_id}\x1f{channel}")


class Message(BaseModel):
    """The rendered message; an SMS has only `text`."""

    model_config = ConfigDict(frozen=True)

    subject: str | None = None
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended: sent, to be retried (`pending` again), failed, or skipped."""

    status: Status
    at: datetime
    reason: str | None = None
    error: str | None = None
    provider_message_id: str | None = None
    next_attempt_at: datetime | None = None


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    customer_id: UUID
    contact_id: UUID
    channel: Channel
    template: str
    language: str
    # What caused it: an event (its id and type) or a request (`request`, the request id).
    event_id: UUID
    event_type: str
    actor: str
    correlation_id: str | None = None
    status: Status = "pending"
    # Why it was skipped or failed, or why the last attempt must be retried: a short code.
    reason: str | None = None
    # The provider's own words about the last failure (may name the recipient: erased too).
    error: str | None = None
    attempts: int = 0
    # An attempt was started and its outcome is not recorded: after a crash, the message may
    # or may not have gone out (the one window in which a message can be sent twice).
    attempt_open: bool = False
    created_at: datetime
    updated_at: datetime
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    recipient: str | None = None
    message: Message | None = None
    provider_message_id: str | None = None
    erased: bool = False
    # The W3C trace context it was planned in: sending it continues that trace.
    traceparent: str | None = None

    @classmethod
    def new(
        cls,
        *,
        cause_id: UUID,
        cause_type: str,
        customer_id: UUID,
        contact_id: UUID,
        channel: Channel,
        template: str,
        language: str,
        actor: str,
        correlation_id: str | None,
        at: datetime,
        traceparent: str | None = None,
    ) -> Delivery:
        return cls(
            id=delivery_id(cause_id, contact_id, channel),
            customer_id=customer_id,
            contact_id=contact_id,
            channel=channel,
            template=template,
            language=language,
            event_id=cause_id,
            event_type=cause_type,
            actor=actor,
            correlation_id=correlation_id,
            traceparent=traceparent,
            created_at=at,
            updated_at=at,
            next_attempt_at=at,
        )

    def ready(self, recipient: str, message: Message) -> Delivery:
        return self.model_copy(update={"recipient": recipient, "message": message})

    def skip(self, reason: str) -> Delivery:
        return self.settle(Outcome("skipped", self.updated_at, reason=reason))

    def fail(self, reason: str, error: str | None = None) -> Delivery:
        return self.settle(Outcome("failed", self.updated_at, reason=reason, error=error))

    def begin_attempt(self, at: datetime) -> Delivery:
        return self.model_copy(
            update={
                "attempts": self.attempts + 1,
                "attempt_open": True,
                "last_attempt_at": at,
                "updated_at": at,
            }
        )

    def settle(self, outcome: Outcome) -> Delivery:
        """The delivery once an attempt (or a decision not to attempt) ended."""
        update: dict[str, object] = {
            "status": outcome.status,
            "attempt_open": False,
            "updated_at": outcome.at,
            "reason": outcome.reason,
            "error": None if self.erased else outcome.error,
            "next_attempt_at": outcome.next_attempt_at if outcome.status == "pending" else None,
        }
        if outcome.status == "sent":
            update["sent_at"] = outcome.at
            update["provider_message_id"] = outcome.provider_message_id
        return self.model_copy(update=update)

    def erase(self, at: datetime) -> Delivery:
        """Anonymised: no recipient, no message; one not sent yet never will be."""
        erased = self.model_copy(
            update={"recipient": None, "message": None, "error": None, "erased": True}
        )
        if self.status == "pending":
            return erased.settle(Outcome("skipped", at, reason="erased"))
        return erased.model_copy(update={"updated_at": at})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, up to `max_attempts` attempts in all."""

    max_attempts: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def delay(self, attempt: int, *, jitter: float, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); `jitter` in [0, 1).

        Half the backoff is fixed and half random, so retries spread out but never come
        sooner than half the backoff. A provider's Retry-After is a floor, never shortened.
        """
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        delay = backoff / 2 + jitter * backoff / 2
        return delay if retry_after is None else max(delay, retry_after)

    def after_transient(
        self,
        delivery: Delivery,
        *,
        at: datetime,
        reason: str,
        error: str | None,
        jitter: float,
        retry_after: float | None = None,
    ) -> Outcome:
        if delivery.attempts >= self.max_attempts:
            return Outcome("failed", at, reason=reason, error=error)
        wait = self.delay(delivery.attempts, jitter=jitter, retry_after=retry_after)
        return Outcome(
            "pending", at, reason=reason, error=error, next_attempt_at=at + timedelta(seconds=wait)
        )
