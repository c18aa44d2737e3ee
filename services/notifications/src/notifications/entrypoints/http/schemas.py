"""Request and answer bodies of the notification routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from notifications.domain.deliveries import Delivery

TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ParamValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class NotificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: UUID
    template: TemplateName = Field(examples=["technician_en_route"])
    params: dict[ParamName, ParamValue] = Field(
        default_factory=dict,
        max_length=20,
        examples=[{"technician": "Marc", "eta": "14:30"}],
    )
    contact_ids: list[UUID] | None = Field(
        default=None,
        max_length=200,
        description="Only these contacts (default: every contact of the customer)",
    )


class DeliverySummary(BaseModel):
    id: UUID
    contact_id: UUID
    channel: Literal["email", "sms"]
    status: Literal["pending", "sent", "failed", "skipped"]
    reason: str | None


class NotificationAccepted(BaseModel):
    customer_id: UUID
    request_id: UUID
    template: str
    delivery_ids: list[UUID]
    deliveries: list[DeliverySummary]
    nothing_to_deliver: str | None = Field(
        default=None, description="Why no delivery was planned (only when there is none)"
    )


class DeliveryOut(BaseModel):
    """One entry of the delivery log; `recipient`, `subject` and `body` are null once the
    customer was anonymised (`erased`)."""

    id: UUID
    customer_id: UUID
    contact_id: UUID
    channel: Literal["email", "sms"]
    template: str
    language: str
    event_id: UUID = Field(description="The event that caused it, or the request's id")
    event_type: str = Field(description="The event's type, or `request`")
    actor: str
    correlation_id: str | None
    status: Literal["pending", "sent", "failed", "skipped"]
    reason: str | None = Field(description="Why it was skipped or failed, or is being retried")
    error: str | None = Field(description="The provider's words about the last failure")
    attempts: int
    created_at: datetime
    updated_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    recipient: str | None
    subject: str | None
    body: str | None
    provider_message_id: str | None
    erased: bool

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        message = delivery.message
        return cls(
            **delivery.model_dump(exclude={"message", "attempt_open"}),
            subject=message.subject if message else None,
            body=message.text if message else None,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as ?cursor= for older entries")


class ChannelCounts(BaseModel):
    sent: int
    failed: int
    retried: int = Field(description="Attempts that failed transiently and were rescheduled")
    skipped: int
    in_doubt: int = Field(description="Attempts found unfinished at start-up (sent again)")


class NotificationMetricsOut(BaseModel):
    since: datetime = Field(description="Counters are this process's, since it started")
    channels: dict[Literal["email", "sms"], ChannelCounts]
