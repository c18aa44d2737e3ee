"""Customer histories as the view receives them: envelopes with revisions, times and actors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from customer_query.domain.view import CustomerView
from customerhub_shared.events import Envelope, EventMetadata
from customerhub_shared.events.customer import CustomerCreated, CustomerEvent, LocationSnapshot
from customerhub_shared.readstore import Document

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def created(customer_id: UUID | None = None, **overrides: Any) -> CustomerCreated:
    customer_id = customer_id or uuid4()
    location_id = uuid4()
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "company",
        "name": "Boulangerie Martin",
        "internal_name": "Martin Nord",
        "customer_number": "C10001",
        "region": "FR-IDF",
        "language": "fr",
        "roles": ("prospect",),
        "labels": ("vip",),
        "email": "contact@martin.example",
        "phone": "+33140000000",
        "main_location_id": location_id,
        "main_location": LocationSnapshot(
            location_id=location_id, street="12 rue de la Paix", city="Paris", country="FR"
        ),
    }
    return CustomerCreated.model_validate(fields | overrides)


class Stream:
    """One customer's stream being written: each event gets the next revision and minute."""

    def __init__(self, *, first_position: int = 100, actor: str = "alice") -> None:
        self.envelopes: list[Envelope] = []
        self.position = first_position
        self.actor = actor

    def record(
        self, *events: CustomerEvent, actor: str | None = None, erased: bool = False
    ) -> Stream:
        for event in events:
            revision = len(self.envelopes)
            self.position += 1
            self.envelopes.append(
                envelope(
                    event,
                    revision=revision,
                    position=self.position,
                    at=START + timedelta(minutes=revision),
                    actor=actor or self.actor,
                    erased=erased,
                )
            )
        return self

    def view(self) -> Document:
        document = project(self.envelopes)
        assert document is not None
        return document


def envelope(
    event: CustomerEvent,
    *,
    revision: int,
    position: int,
    at: datetime = START,
    actor: str = "alice",
    erased: bool = False,
) -> Envelope:
    return Envelope(
        event_id=uuid4(),
        event_type=event.type_name,
        stream=f"customer-{event.customer_id}",
        revision=revision,
        position=position,
        recorded_at=at,
        metadata=EventMetadata(actor=actor, correlation_id=f"corr-{revision}", occurred_at=at),
        event=event,
        personal_data_erased=erased,
    )


def project(envelopes: Iterable[Envelope]) -> Document | None:
    """What the projector stores: the view's document plus `_id` and `_version`."""
    view = CustomerView()
    document: Document | None = None
    for item in envelopes:
        document = view.apply(document, item)
        assert document is not None
        document["_id"] = view.document_id(item.stream)
        document["_version"] = item.revision + 1
    return document
