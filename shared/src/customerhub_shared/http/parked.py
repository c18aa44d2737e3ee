"""The parked events of a process's consumers (admin): list them, retry a parked stream after
a fix, or skip the event at its head. Retry and skip only mark: the consumer's runner applies
what is marked, in stream order, wherever it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from itertools import groupby
from typing import Annotated, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel, Field

from customerhub_shared.consumers import Consumers, ParkedEvent, ParkedStore, open_parked_store
from customerhub_shared.consumers.parked import Status
from customerhub_shared.http.auth import AdminUser
from customerhub_shared.http.openapi import problem_responses
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem
from customerhub_shared.settings import Settings

router = APIRouter(prefix="/v1/admin/parked", tags=["operations"])
log = structlog.get_logger(__name__)
ParkedId = Annotated[int, Path(ge=1, le=2**62, description="A parked event's id")]


class ParkedEventView(BaseModel):
    id: int
    consumer: str
    event_id: UUID
    event_type: str
    stream: str
    revision: int
    position: int = Field(description="The event's log position")
    error: str = Field(description="Why it was parked (or `parked behind …` its stream's head)")
    attempts: int
    status: Literal["parked", "retry", "skipped"] = Field(
        description="`retry`/`skipped`: marked, for the consumer to apply (or drop) next"
    )
    parked_at: datetime


class ParkedConsumer(BaseModel):
    name: str
    parked: list[ParkedEventView] = Field(description="In log order")


class ParkedEvents(BaseModel):
    consumers: list[ParkedConsumer] = Field(description="Consumers with parked events")


class MarkedEvents(BaseModel):
    marked: list[ParkedEventView] = Field(
        description="The event and those parked behind it, as marked for the consumer"
    )


@asynccontextmanager
async def serving(app: FastAPI, settings: Settings) -> AsyncIterator[Consumers]:
    """For an app's life: its parked store, and the registry of the consumers it runs
    (`app.state.consumers`: each one's name, position and parked count)."""
    parked = await open_parked_store(settings)
    app.state.parked_store = parked
    app.state.consumers = Consumers(parked)
    if (metrics := getattr(app.state, "metrics", None)) is not None:
        metrics.parked_counts = parked.counts
    try:
        yield app.state.consumers
    finally:
        await parked.close()


def _store(request: Request) -> ParkedStore:
    store: ParkedStore = request.app.state.parked_store
    return store


def _view(row: ParkedEvent) -> ParkedEventView:
    return ParkedEventView(
        id=row.id,
        consumer=row.consumer,
        event_id=row.event.id,
        event_type=row.event.type,
        stream=row.event.stream,
        revision=row.event.revision,
        position=row.event.position,
        error=row.error,
        attempts=row.attempts,
        status=row.status,
        parked_at=row.parked_at,
    )


@router.get("", summary="Parked events, per consumer (admin)", response_model=ParkedEvents)
async def list_parked_events(request: Request, _admin: AdminUser) -> ParkedEvents:
    rows = await _store(request).parked()
    return ParkedEvents(
        consumers=[
            ParkedConsumer(name=name, parked=[_view(row) for row in group])
            for name, group in groupby(rows, key=lambda row: row.consumer)
        ]
    )


@router.post(
    "/{parked_id}/retry",
    summary="Apply a parked event and those behind it again, in order (admin)",
    status_code=202,
    response_model=MarkedEvents,
    responses=problem_responses(404),
)
async def retry_parked_event(
    parked_id: ParkedId, request: Request, admin: AdminUser
) -> MarkedEvents:
    return await _mark(request, parked_id, "retry", actor=admin.sub)


@router.post(
    "/{parked_id}/skip",
    summary="Drop a parked event for good; those behind it are applied (admin)",
    status_code=202,
    response_model=MarkedEvents,
    responses=problem_responses(404),
)
async def skip_parked_event(
    parked_id: ParkedId, request: Request, admin: AdminUser
) -> MarkedEvents:
    return await _mark(request, parked_id, "skipped", actor=admin.sub)


async def _mark(request: Request, parked_id: int, status: Status, *, actor: str) -> MarkedEvents:
    marked = await _store(request).mark(parked_id, status)
    if not marked:
        raise Problem(
            404,
            "No such parked event",
            detail=f"no parked event {parked_id}",
            type=PROBLEM_TYPES + "parked-event-not-found",
        )
    log.info("parked.marked", parked=parked_id, status=status, actor=actor, events=len(marked))
    return MarkedEvents(marked=[_view(row) for row in marked])
