"""Events and envelopes for the notification rules' tests, as the mapper would hand them over."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from customerhub_shared.events import DomainEvent, Envelope, EventMetadata
from customerhub_shared.events.customer import ContactAdded, CustomerCreated, NotifyChannels
from notifications.domain import audience as folds
from notifications.domain.audience import Audience

CUSTOMER = uuid.UUID("11111111-1111-4111-8111-111111111111")


def envelope(event: DomainEvent, *, revision: int = 0, stream: str | None = None) -> Envelope:
    subject = getattr(event, "customer_id", None) or getattr(event, "equipment_id", None)
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event.type_name,
        stream=stream or f"{event.aggregate}-{subject}",
        revision=revision,
        position=revision + 1,
        recorded_at=datetime.now(UTC),
        metadata=EventMetadata(
            actor="alice", correlation_id="corr-1", occurred_at=datetime.now(UTC)
        ),
        event=event,
    )


def contact_added(
    contact_id: UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    notify: dict[str, bool] | None = None,
    alerts: bool = False,
    name: str = "Claire Martin",
    customer_id: UUID = CUSTOMER,
) -> ContactAdded:
    return ContactAdded(
        customer_id=customer_id,
        contact_id=contact_id,
        given_name=name.partition(" ")[0],
        family_name=name.partition(" ")[2] or None,
        email=email,
        phone=phone,
        notify=NotifyChannels(**(notify or {})),
        equipment_alerts=alerts,
    )


def created(language: str = "fr", **fields: Any) -> CustomerCreated:
    return CustomerCreated(
        customer_id=CUSTOMER,
        kind="company",
        name="Boulangerie Martin",
        language=language,
        main_location_id=uuid.uuid4(),
        **fields,
    )


def folded(*events: DomainEvent) -> Audience:
    audience: Audience | None = None
    for event in events:
        audience = folds.apply(audience, event)  # type: ignore[arg-type]
    assert audience is not None
    return audience
