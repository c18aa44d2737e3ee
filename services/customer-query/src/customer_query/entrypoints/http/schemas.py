"""The shapes of the query answers, for the OpenAPI document (routes answer plain JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

CustomerStatus = Literal["active", "archived", "merged", "anonymised", "deleted"]
SortKey = Literal[
    "name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "customer_number"
]
CustomerRoleName = Literal["prospect", "customer", "supplier"]
HiddenStatus = Literal["archived", "anonymised"]
SegmentName = Literal["dealer", "service_provider", "rental", "end_user", "other"]
CustomerKindName = Literal["person", "company"]


class NotifyOut(BaseModel):
    email: bool
    sms: bool


class ContactOut(BaseModel):
    contact_id: str
    name: str | None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None
    phone: str | None
    position: str | None
    notify: NotifyOut
    equipment_alerts: bool
    portal_access: bool = False
    portal_invited_at: str | None = Field(
        default=None, description="When portal access was granted; null without access"
    )
    main: bool


class GeoOut(BaseModel):
    latitude: float
    longitude: float


class LocationOut(BaseModel):
    location_id: str
    equipment_ids: list[str] = Field(
        default_factory=list, description="The customer's items that stand here"
    )
    label: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    geo: GeoOut | None
    main: bool


class RelationOut(BaseModel):
    customer_id: str
    relation: Literal["parent", "child", "related"]


class LinkedDocumentOut(BaseModel):
    document_id: str
    document_type: str


class AttachmentSummaryOut(BaseModel):
    attachment_id: str
    file_name: str | None = Field(description="null once erased")
    size: int
    content_type: str
    added_by: str
    added_at: str


class CustomerOut(BaseModel):
    """A customer; personal fields are null once it was anonymised."""

    id: str
    kind: Literal["person", "company"]
    name: str | None
    internal_name: str | None
    customer_number: str | None
    region: str | None
    language: str
    segment: str
    roles: list[str]
    labels: list[str]
    email: str | None
    phone: str | None
    price_list: str | None
    discount_percent: str | None = Field(description="A decimal, as text: '12.5'")
    tax_override: str | None
    note: str | None
    show_note_on_selection: bool
    custom_fields: dict[str, Any]
    status: CustomerStatus
    contacts: list[ContactOut]
    main_contact_id: str | None
    locations: list[LocationOut]
    main_location_id: str | None
    relations: list[RelationOut]
    employees: list[str]
    documents: list[LinkedDocumentOut]
    equipment_ids: list[str]
    attachments: list[AttachmentSummaryOut] = Field(
        default=[],
        description="Files attached, oldest first (download: GET …/attachments/{id})",
    )
    merged_into: str | None = Field(description="Set when the requested id was merged")
    merged_ids: list[str] = Field(description="The duplicates this customer absorbed")
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    version: int
    position: int
    requested_id: str | None = Field(
        default=None, description="The merged id asked for, when the answer is its survivor"
    )
    as_of: str | None = Field(default=None, description="The instant asked for with ?as_of=")


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class HistoryEntry(BaseModel):
    revision: int
    position: int
    event_id: str
    type: str = Field(description="The event's contract name, e.g. customerhub.customer.created.v1")
    time: str
    actor: str
    correlation_id: str
    changes: dict[str, Any] = Field(description="The event's fields; erased personal data is null")
    personal_data_erased: bool


class HistoryPage(BaseModel):
    customer_id: str
    version: int
    items: list[HistoryEntry] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as ?before= for older events")


class ChainMismatch(BaseModel):
    stream: str
    revision: int
    position: int
    event_id: str
    type: str
    stored_hash: str | None = Field(description="None: the event carries no hash")
    expected_hash: str = Field(description="Recomputed from the stored bytes")


class ChainVerdict(BaseModel):
    verified: bool
    events: int = Field(description="Events in the customer's stream")
    head: str | None = Field(
        default=None, description="When verified: the last event's hash (SHA-256, hex)"
    )
    first_mismatch: ChainMismatch | None = Field(
        default=None, description="When not verified: the first event whose hash does not match"
    )
    unhashed_prefix: int | None = Field(
        default=None,
        description="Events recorded before hashes existed; the first stored hash covers them",
    )


class DuplicateCandidate(BaseModel):
    customer_id: str
    name: str | None
    status: CustomerStatus
    score: float = Field(ge=0, le=1)
    reasons: list[Literal["same_name", "similar_name", "same_email", "same_phone"]]


class DuplicateCandidates(BaseModel):
    items: list[DuplicateCandidate] = Field(description="Best first, at most 10")


class TimelineEntry(BaseModel):
    activity_id: str = Field(description="The activity's id, or the delivery's")
    kind: Literal["comment", "call", "visit", "email", "notification"]
    text: str | None = Field(description="Null once the customer was anonymised")
    occurred_at: str
    by: str | None = Field(description="Who recorded it, or who requested the notification")
    channel: Literal["email", "sms"] | None = None
    template: str | None = None


class TimelinePage(BaseModel):
    customer_id: str
    items: list[TimelineEntry] = Field(description="Newest first")
    next_before: str | None = Field(description="Pass as ?before= for older entries")
