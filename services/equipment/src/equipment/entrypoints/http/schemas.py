"""Request bodies of their own, and the shapes of the answers for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from customerhub_shared.events.equipment import OwnerChangeReason

MAX_BULK = 1000


class AssignmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    equipment_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_BULK)] = Field(
        description="The items to give the customer (repeats count once)"
    )
    transfer: bool = Field(
        default=False, description="Take items another customer owns (else 409 for those)"
    )


class EquipmentAnswer(BaseModel):
    """A command's answer: the item's (or, for assignments, the customer's) id and version."""

    id: str
    version: int
    position: int | None


class CustomerEquipmentAnswer(EquipmentAnswer):
    """The customer after the change (`version` counts its events) and what it lists now."""

    equipment_ids: list[str]


class PlacementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: UUID | None = Field(description="One of the customer's locations, or null")


class PlacementAnswer(CustomerEquipmentAnswer):
    location_id: str | None


class LocatedOut(BaseModel):
    location_id: str | None
    customer_id: str
    since: str
    by: str


class AssignmentAnswer(CustomerEquipmentAnswer):
    assigned: list[str] = Field(description="Items this request gave the customer")
    transferred: list[str] = Field(description="Those among them taken from another customer")


class OwnershipPeriodOut(BaseModel):
    customer_id: str
    since: str
    until: str | None
    assigned_by: str
    released_by: str | None
    began: OwnerChangeReason
    ended: OwnerChangeReason | None


class EquipmentOut(BaseModel):
    id: str
    name: str
    type: str | None
    brand: str | None
    model: str | None
    reference: str | None
    serial_number: str | None
    image_url: str | None
    business_unit: str | None
    description: str | None = None
    location_id: str | None = Field(
        default=None, description="The owner's location it stands at; cleared by an owner change"
    )
    placements: list[LocatedOut] = Field(
        default_factory=list, description="Where it stood, oldest first"
    )
    owner_id: str | None = Field(description="The customer that owns the item now")
    ownership: list[OwnershipPeriodOut] = Field(description="Every owner, oldest first")
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    version: int
    position: int


class EquipmentPage(BaseModel):
    items: list[EquipmentOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")
