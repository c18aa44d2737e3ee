"""What every event is: a frozen, versioned pydantic model, named in the past tense.

Fields annotated `Personal` hold personal data: the mapper encrypts them with the
customer's key and, once that key is destroyed (anonymisation), reads them back as None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class PersonalData:
    """Marker placed in `Annotated[...]` on fields that hold personal data."""


PERSONAL = PersonalData()
T = TypeVar("T")
Personal = Annotated[T | None, PERSONAL]


class DomainEvent(BaseModel):
    """A fact that happened to one aggregate; `type_name` is its versioned contract name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str] = ""
    aggregate: ClassVar[str] = "customer"
    # The aggregate's personal data is forgotten (its key destroyed): views erase their copies.
    erases_personal_data: ClassVar[bool] = False

    @classmethod
    def personal_fields(cls) -> frozenset[str]:
        fields = _PERSONAL_FIELDS.get(cls)
        if fields is None:
            fields = frozenset(
                name
                for name, field in cls.model_fields.items()
                if any(isinstance(marker, PersonalData) for marker in field.metadata)
            )
            _PERSONAL_FIELDS[cls] = fields
        return fields


# Asked for every event read or written: computed once per event class.
_PERSONAL_FIELDS: dict[type[DomainEvent], frozenset[str]] = {}


class EventMetadata(BaseModel):
    """Who caused an event and in answer to what; stored beside the event's data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    actor: str
    correlation_id: str
    causation_id: str | None = None
    occurred_at: datetime
    idempotency_key: str | None = None
    schema_version: int = 1
    # The W3C trace context of the append: the relay carries it on as the CloudEvent's.
    traceparent: str | None = None


class Envelope(BaseModel):
    """An event as read back: the domain fact plus its place in the log and its metadata."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    event_id: UUID
    event_type: str
    stream: str
    revision: int
    position: int
    recorded_at: datetime
    metadata: EventMetadata
    event: DomainEvent
    personal_data_erased: bool = False
