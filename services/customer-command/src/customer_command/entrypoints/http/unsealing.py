"""Downstream access to personal data: `POST /v1/events/unseal` (subscriber, admin) opens the
sealed fields of events read from the topic; `GET /v1/audit/access` (admin) lists who did."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from customer_command.application.unsealing import MAX_EVENTS, UnsealPorts, unseal
from customerhub_shared.accesslog import AccessRecord
from customerhub_shared.cloudevents import CloudEvent, InvalidCloudEvent
from customerhub_shared.events.registry import UnknownEventType
from customerhub_shared.http.auth import AdminUser, Subscriber
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.mapper import SealedDataMalformed

router = APIRouter(tags=["downstream access"])
log = structlog.get_logger(__name__)


class UnsealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[CloudEvent] = Field(
        min_length=1,
        max_length=MAX_EVENTS,
        description=f"Up to {MAX_EVENTS} CloudEvents exactly as read from the topic",
    )


class UnsealedEvents(BaseModel):
    events: list[dict[str, Any]] = Field(
        description="Each event as sent, `data` with its personal fields opened (null when"
        " erased) and `personal_data_erased`: true when the customer was anonymised"
    )


class AccessEntry(BaseModel):
    id: UUID
    at: datetime
    actor: str = Field(description="The token's `sub` that called unseal")
    customer_ids: list[UUID] = Field(description="Whose sealed personal fields it asked for")
    events: int = Field(description="How many events the call carried")


class AccessPage(BaseModel):
    items: list[AccessEntry] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as ?before= for older entries")


def _ports(request: Request) -> UnsealPorts:
    ports: UnsealPorts = request.app.state.unseal_ports
    return ports


@router.post(
    "/v1/events/unseal",
    summary="Open the sealed personal fields of events read from Kafka (subscriber, admin)",
    response_model=UnsealedEvents,
)
async def unseal_events(
    body: UnsealRequest, request: Request, caller: Subscriber
) -> UnsealedEvents:
    try:
        opened = await unseal(_ports(request), body.events, actor=caller.sub)
    except (UnknownEventType, InvalidCloudEvent, SealedDataMalformed) as error:
        raise Problem(
            422,
            "Not a customerhub event",
            detail=f"{type(error).__name__}: {error}",
            type=PROBLEM_TYPES + "not-a-customerhub-event",
        ) from error
    log.info("events.unsealed", events=len(opened))
    return UnsealedEvents(events=opened)


@router.get(
    "/v1/audit/access",
    summary="Who opened personal data through unseal, newest first (admin)",
    response_model=AccessPage,
)
async def list_access_log(
    request: Request,
    _admin: AdminUser,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Page cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size, 1 to 200")] = 50,
) -> AccessPage:
    page = await _ports(request).access_log.newest(before=before, limit=limit)
    return AccessPage(items=[_entry(r) for r in page.records], next_before=page.next_before)


def _entry(record: AccessRecord) -> AccessEntry:
    return AccessEntry(
        id=record.id,
        at=record.at,
        actor=record.actor,
        customer_ids=list(record.customer_ids),
        events=record.events,
    )
