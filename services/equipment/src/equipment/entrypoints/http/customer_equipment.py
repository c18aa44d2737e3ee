"""Routes that give a customer equipment, or take it back (the customer's equipment tab).

Each item's own stream records the owner change first; the answer comes once the customer's
stream has recorded it too (else 202), and shows the customer's version and what it lists.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from customerhub_shared.http.openapi import Responses, answer_headers, problem_responses
from equipment.application import commands as c
from equipment.entrypoints.http import schemas
from equipment.entrypoints.http.runner import UserCall, execute

router = APIRouter(prefix="/v1/customers/{customer_id}/equipment", tags=["equipment"])
_HEADERS = ("ETag", "Idempotent-Replayed")


def _answers(model: type[schemas.CustomerEquipmentAnswer]) -> Responses:
    """200 once the customer's stream recorded the change, 202 before; `ETag` is the customer's."""
    pending = "Recorded on the items; the customer's side is not recorded yet"
    return {
        **answer_headers(200, *_HEADERS),
        202: {"model": model, **answer_headers(202, *_HEADERS, description=pending)[202]},
        **problem_responses(404, 409, 410, 412, 422),
    }


@router.post(
    "",
    summary="Assign items to the customer (bulk; transfer: true takes them from their owner)",
    description="Every item is checked first: an unknown item (404) or one another customer "
    "owns without `transfer` (409, `assigned` empty) refuses the whole request and nothing "
    "moves. Items are then moved one by one; a concurrent request may take one in between: "
    "the answer is then 409 with `owners` (what was lost, to whom) and `assigned` (what this "
    "request did give the customer, kept, not rolled back).",
    response_model=schemas.AssignmentAnswer,
    responses={
        **_answers(schemas.AssignmentAnswer),
        **problem_responses(
            409,
            s409="Refused in whole (`assigned` empty: nothing moved) or in part after a race lost "
            "to a concurrent request: `assigned` lists exactly what this request gave the "
            "customer (kept, not rolled back), `owners` the items it found owned by another "
            "customer (item → owner)",
        ),
    },
)
async def assign_equipment(
    customer_id: UUID, body: schemas.AssignmentBody, call: UserCall
) -> Response:
    equipment_ids = tuple(dict.fromkeys(body.equipment_ids))
    return await execute(call, c.AssignEquipment(customer_id, equipment_ids, body.transfer))


@router.put(
    "/{equipment_id}/location",
    summary="Say at which of the customer's locations an item it owns stands",
    description="The move is recorded on the item (its history) and shown on the customer, "
    "per location. `location_id` null: at none said. A location that is not the customer's "
    "is 422; an item it does not own 409.",
    response_model=schemas.PlacementAnswer,
    responses=_answers(schemas.PlacementAnswer),
)
async def place_equipment(
    customer_id: UUID, equipment_id: UUID, body: schemas.PlacementBody, call: UserCall
) -> Response:
    return await execute(call, c.PlaceEquipment(customer_id, equipment_id, body.location_id))


@router.delete(
    "/{equipment_id}",
    summary="Unassign an item the customer owns",
    response_model=schemas.CustomerEquipmentAnswer,
    responses=_answers(schemas.CustomerEquipmentAnswer),
)
async def unassign_equipment(customer_id: UUID, equipment_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.UnassignEquipment(customer_id, equipment_id))
