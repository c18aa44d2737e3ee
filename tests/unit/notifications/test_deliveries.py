"""Deliveries: stable ids, the retry policy, and how outcomes and erasure change an entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notifications.domain.deliveries import (
    Delivery,
    Message,
    Outcome,
    RetryPolicy,
    delivery_id,
)

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def _delivery(attempts: int = 0) -> Delivery:
    planned = Delivery.new(
        cause_id=uuid.uuid4(),
        cause_type="request",
        customer_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        channel="sms",
        template="technician_en_route",
        language="fr",
        actor="alice",
        correlation_id=None,
        at=NOW,
    ).ready("+33612345678", Message(text="Marc est en route"))
    return planned.model_copy(update={"attempts": attempts})


def test_the_same_cause_contact_and_channel_always_name_the_same_delivery() -> None:
    cause, contact = uuid.uuid4(), uuid.uuid4()
    assert delivery_id(cause, contact, "sms") == delivery_id(cause, contact, "sms")
    assert delivery_id(cause, contact, "sms") != delivery_id(cause, contact, "email")
    assert delivery_id(cause, contact, "sms") != delivery_id(uuid.uuid4(), contact, "sms")


def test_backoff_doubles_with_jitter_within_half_to_full_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=1.0, max_seconds=8.0)
    assert [policy.delay(n, jitter=0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [policy.delay(n, jitter=0.999) for n in (1, 2, 3)] == pytest.approx(
        [1.0, 2.0, 4.0], 0.01
    )


def test_a_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base_seconds=1.0)
    assert policy.delay(1, jitter=0.5, retry_after=30.0) == 30.0
    assert policy.delay(1, jitter=0.5, retry_after=0.1) == 0.75


def test_a_transient_failure_reschedules_until_the_last_attempt_then_fails() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=2.0)
    retry = policy.after_transient(
        _delivery(attempts=1), at=NOW, reason="http_503", error=None, jitter=0.0
    )
    assert retry.status == "pending" and retry.next_attempt_at == NOW + timedelta(seconds=1)
    last = policy.after_transient(
        _delivery(attempts=3), at=NOW, reason="http_503", error=None, jitter=0.0
    )
    assert last.status == "failed" and last.reason == "http_503"


def test_an_attempt_is_recorded_before_its_outcome() -> None:
    started = _delivery().begin_attempt(NOW)
    assert (started.status, started.attempts, started.attempt_open) == ("pending", 1, True)
    sent = started.settle(Outcome("sent", NOW, provider_message_id="SM1"))
    assert (sent.status, sent.attempt_open, sent.sent_at) == ("sent", False, NOW)
    assert sent.next_attempt_at is None and sent.provider_message_id == "SM1"


def test_erasing_removes_recipient_and_message_and_cancels_a_pending_delivery() -> None:
    erased = _delivery().erase(NOW)
    assert (erased.recipient, erased.message, erased.erased) == (None, None, True)
    assert (erased.status, erased.reason) == ("skipped", "erased")
    sent = _delivery().settle(Outcome("sent", NOW)).erase(NOW)
    assert sent.status == "sent" and sent.recipient is None
    # An outcome recorded after the erasure keeps it erased.
    late = _delivery().begin_attempt(NOW).erase(NOW).settle(Outcome("failed", NOW, error="+336…"))
    assert late.error is None and late.recipient is None
