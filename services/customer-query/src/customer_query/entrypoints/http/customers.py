"""Routes that read customers: list and search, duplicates, one customer, its history and
the verification of its hash chain.

Each route parses, calls one query handler and shapes the answer; every answer carries
`X-Read-Model-Position`, the log position the read model had reached when it was read.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from customer_query.application import queries
from customer_query.application.errors import InstantOutOfRange, QueryRefused
from customer_query.domain.duplicates import DuplicateProbe
from customer_query.domain.instants import instant_text, utc
from customer_query.entrypoints.http import schemas
from customer_query.entrypoints.http.freshness import ReadPosition
from customer_query.entrypoints.http.problems import position_headers, problem_for
from customer_query.entrypoints.http.service import Service
from customerhub_shared.http.auth import AdminUser, CurrentUser
from customerhub_shared.http.headers import entity_tag, none_match
from customerhub_shared.http.openapi import Responses, answer_headers, problem_responses

router = APIRouter(prefix="/v1/customers", tags=["customers"])

Limit = Annotated[int, Query(ge=1, le=200, description="Page size, 1 to 200")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
LIST_PARAMETERS = frozenset(
    {"q", "label", "role", "region", "status", "include", "segment", "kind", "employee"}
    | {"language", "sort", "cursor", "limit", "min_position"}
)


def known_parameters(names: frozenset[str]) -> Any:
    """A dependency refusing query parameters the route does not know (a typo filters nothing)."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - names)
        if unknown:
            raise RequestValidationError(
                [
                    {"loc": ("query", name), "msg": "unknown query parameter", "type": "extra"}
                    for name in unknown
                ]
            )

    return check


async def _read(position: int, outcome: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        return await outcome
    except QueryRefused as refused:
        raise problem_for(refused, position) from refused


async def _answer(position: int, outcome: Awaitable[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(await _read(position, outcome), headers=position_headers(position))


def _read_answers(*problems: int, **descriptions: str) -> Responses:
    """A read's answers: the position header, a read model behind (503), and `problems`."""
    return {
        **answer_headers(200, "X-Read-Model-Position"),
        **problem_responses(*problems, 503, **descriptions),
    }


async def list_filters(
    q: Annotated[str | None, Query(max_length=200, description="Word prefixes")] = None,
    label: Annotated[
        list[Annotated[str, Query(min_length=1, max_length=50)]],
        Query(max_length=50, description="Customers with any of these labels"),
    ] = [],  # noqa: B006 - FastAPI copies the default
    role: schemas.CustomerRoleName | None = None,
    region: Text = None,
    status: Annotated[
        schemas.CustomerStatus | None,
        Query(description="Only this status; without it, active customers (and `include`)"),
    ] = None,
    include: Annotated[
        list[schemas.HiddenStatus],
        Query(max_length=2, description="Also list archived or anonymised customers"),
    ] = [],  # noqa: B006
    segment: schemas.SegmentName | None = None,
    kind: schemas.CustomerKindName | None = None,
    employee: Text = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2}$", description="ISO 639-1")] = None,
    sort: schemas.SortKey = "name",
) -> queries.CustomerSearch:
    """The list's filters and order, shared by the list and the export."""
    return queries.CustomerSearch(
        q=q,
        labels=tuple(label),
        role=role,
        region=region,
        status=status,
        include=tuple(include),
        segment=segment,
        kind=kind,
        employee=employee,
        language=language,
        sort=sort,
    )


ListFilters = Annotated[queries.CustomerSearch, Depends(list_filters)]


@router.get(
    "",
    summary="List and search customers",
    response_model=schemas.CustomerPage,
    responses=_read_answers(400, s400="An invalid cursor or X-Min-Position"),
    dependencies=[Depends(known_parameters(LIST_PARAMETERS))],
)
async def list_customers(
    service: Service,
    position: ReadPosition,
    _user: CurrentUser,
    filters: ListFilters,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Limit = 50,
) -> JSONResponse:
    search = replace(filters, cursor=cursor, limit=limit)
    return await _answer(position, queries.search_customers(await service.read_model(), search))


@router.get(
    "/duplicates",
    summary="Customers that may be the one described by a name, email or phone",
    response_model=schemas.DuplicateCandidates,
    responses=_read_answers(422, s422="None of name, email or phone, or an invalid one"),
)
async def find_possible_duplicates(
    service: Service,
    position: ReadPosition,
    _user: CurrentUser,
    name: Text = None,
    email: Text = None,
    phone: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    exclude_id: Annotated[UUID | None, Query(description="Leave this customer out")] = None,
) -> JSONResponse:
    probe = DuplicateProbe.of(name=name, email=email, phone=phone)
    excluded = str(exclude_id) if exclude_id else None
    read_model = await service.read_model()
    return await _answer(
        position, queries.possible_duplicates(read_model, probe, exclude_id=excluded)
    )


@router.get(
    "/{customer_id}",
    summary="One customer, now or as of an instant (a merged id answers with its survivor)",
    response_model=schemas.CustomerOut,
    responses={
        **_read_answers(404, 410, s404="Unknown customer", s410="Deleted"),
        **answer_headers(200, "X-Read-Model-Position", "ETag"),
        **answer_headers(
            304, "ETag", "X-Read-Model-Position", description="If-None-Match holds the ETag"
        ),
    },
)
async def get_customer(
    customer_id: UUID,
    service: Service,
    position: ReadPosition,
    _user: CurrentUser,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="An ISO-8601 instant with its offset, e.g. 2026-03-03T12:00:00Z"),
    ] = None,
    if_none_match: Annotated[
        str | None, Header(description='The ETag you hold, e.g. "3": 304 while it is current')
    ] = None,
) -> Response:
    structlog.contextvars.bind_contextvars(customer_id=str(customer_id))
    if as_of is not None:
        instant = utc(as_of)
        if instant is None:
            raise problem_for(InstantOutOfRange(), position)
        found = queries.customer_as_of(service.streams, service.view, customer_id, instant)
        return await _answer(position, found)
    read_model = await service.read_model()
    customer = await _read(position, queries.customer_by_id(read_model, customer_id))
    headers = {**position_headers(position), "ETag": entity_tag(customer["version"])}
    if none_match(if_none_match, customer["version"]):
        return Response(status_code=304, headers=headers)
    return JSONResponse(customer, headers=headers)


@router.get(
    "/{customer_id}/activities",
    summary="The customer's timeline: comments, calls, visits, emails, notifications sent",
    response_model=schemas.TimelinePage,
    responses=_read_answers(404, 410),
)
async def list_customer_activities(
    customer_id: UUID,
    service: Service,
    position: ReadPosition,
    _user: CurrentUser,
    before: Annotated[
        AwareDatetime | None, Query(description="Older than this instant (next_before)")
    ] = None,
    limit: Limit = 50,
) -> JSONResponse:
    structlog.contextvars.bind_contextvars(customer_id=str(customer_id))
    timeline = queries.customer_timeline(
        await service.read_model(),
        customer_id,
        limit=limit,
        before=instant_text(before) if before else None,
        notifications=service.notifications,
    )
    return await _answer(position, timeline)


@router.get(
    "/{customer_id}/history",
    summary="The customer's events, newest first (read from the event store)",
    response_model=schemas.HistoryPage,
    responses=_read_answers(404, 410),
)
async def get_customer_history(
    customer_id: UUID,
    service: Service,
    position: ReadPosition,
    _user: CurrentUser,
    before: Annotated[int | None, Query(ge=0, le=2**62, description="Older than revision")] = None,
    limit: Limit = 50,
) -> JSONResponse:
    structlog.contextvars.bind_contextvars(customer_id=str(customer_id))
    history = queries.customer_history(service.streams, customer_id, before=before, limit=limit)
    return await _answer(position, history)


@router.get(
    "/{customer_id}/history/verify",
    summary="Walk the customer's hash chain over the stored events (admin)",
    response_model=schemas.ChainVerdict,
    response_model_exclude_none=True,
    responses=problem_responses(404, s404="No customer with this id"),
)
async def verify_customer_history(
    customer_id: UUID, service: Service, _admin: AdminUser
) -> JSONResponse:
    structlog.contextvars.bind_contextvars(customer_id=str(customer_id))
    try:
        verdict = await queries.verify_customer_history(service.streams, customer_id)
    except QueryRefused as refused:
        raise problem_for(refused, None) from refused
    return JSONResponse(verdict)
