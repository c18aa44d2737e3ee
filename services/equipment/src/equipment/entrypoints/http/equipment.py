"""Routes of the equipment registry: register, edit, list and search, one item with its history.

Reads answer from the equipment read model, with `X-Read-Model-Position` (the log position it
reflects); `min_position` (or `X-Min-Position`) makes a read wait until it got that far.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response

from customerhub_shared.consumers import wait_for_position
from customerhub_shared.http.auth import CurrentUser
from customerhub_shared.http.headers import entity_tag
from customerhub_shared.http.openapi import answer_headers, problem_responses
from equipment.application import commands as c
from equipment.application import queries
from equipment.domain.errors import EquipmentNotFound
from equipment.domain.values import EquipmentPatch, NewEquipment
from equipment.entrypoints.http import schemas
from equipment.entrypoints.http.problems import problem_for
from equipment.entrypoints.http.runner import UserCall, execute
from equipment.entrypoints.http.service import Service

router = APIRouter(prefix="/v1/equipment", tags=["equipment"])
POSITION_HEADER = "X-Read-Model-Position"
_MAX_POSITION = 2**63 - 1


async def read_model_position(
    service: Service,
    _user: CurrentUser,
    min_position: Annotated[
        int | None, Query(ge=0, le=_MAX_POSITION, description="Answer once the read model got here")
    ] = None,
    x_min_position: Annotated[
        int | None, Header(ge=0, le=_MAX_POSITION, description="Same, e.g. a command's position")
    ] = None,
) -> int:
    """The position the answer reflects at least; waits up to the freshness timeout."""
    wanted = max((p for p in (min_position, x_min_position) if p is not None), default=None)
    if wanted is not None and service.head is not None:
        head = await service.head() or 0
        if wanted > head:
            raise _problem(queries.PositionBeyondLog(wanted, head))
    reached = await wait_for_position(service.position, wanted, timeout=service.freshness_timeout)
    if wanted is not None and reached < wanted:
        raise _problem(queries.ReadModelBehind(wanted))
    return reached


ReadPosition = Annotated[int, Depends(read_model_position)]


def _problem(error: Exception) -> Exception:
    return problem_for(error) or error


@router.post(
    "",
    status_code=201,
    summary="Register an item",
    response_model=schemas.EquipmentAnswer,
    responses={
        **answer_headers(201, "ETag", "Idempotent-Replayed", "Location"),
        **problem_responses(409, 422),
    },
)
async def register_equipment(body: NewEquipment, call: UserCall) -> Response:
    equipment_id = call.new_equipment_id()
    response = await execute(call, c.RegisterEquipment(equipment_id, body), status_code=201)
    response.headers["Location"] = f"/v1/equipment/{equipment_id}"
    return response


@router.patch(
    "/{equipment_id}",
    summary="Edit an item's fields",
    response_model=schemas.EquipmentAnswer,
    responses={
        **answer_headers(200, "ETag", "Idempotent-Replayed"),
        **problem_responses(404, 409, 412, 422),
    },
)
async def change_equipment(equipment_id: UUID, body: EquipmentPatch, call: UserCall) -> Response:
    return await execute(call, c.ChangeEquipmentDetails(equipment_id, body))


@router.get(
    "",
    summary="List items by name: all, a customer's (customer_id), or matching q",
    response_model=schemas.EquipmentPage,
    responses={
        **answer_headers(200, "X-Read-Model-Position"),
        **problem_responses(400, 503, s400="An invalid cursor"),
    },
)
async def list_equipment(
    service: Service,
    position: ReadPosition,
    customer_id: Annotated[UUID | None, Query(description="Only the items it owns now")] = None,
    business_unit: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this business unit's")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Word prefixes of name, reference, serial")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    search = queries.EquipmentSearch(
        q=q, customer_id=customer_id, business_unit=business_unit, cursor=cursor, limit=limit
    )
    try:
        page = await queries.search_equipment(await service.read_model(), search)
    except queries.InvalidCursor as invalid:
        raise _problem(invalid) from invalid
    return JSONResponse(page, headers={POSITION_HEADER: str(position)})


@router.get(
    "/{equipment_id}",
    summary="One item, with every owner it had (who, since when, until when, by whom)",
    response_model=schemas.EquipmentOut,
    responses={
        **answer_headers(200, "X-Read-Model-Position", "ETag"),
        **problem_responses(404, 503),
    },
)
async def get_equipment(equipment_id: UUID, service: Service, position: ReadPosition) -> Response:
    try:
        item = await queries.equipment_by_id(await service.read_model(), equipment_id)
    except EquipmentNotFound as unknown:
        raise _problem(unknown) from unknown
    headers = {POSITION_HEADER: str(position), "ETag": entity_tag(item["version"])}
    return JSONResponse(item, headers=headers)
