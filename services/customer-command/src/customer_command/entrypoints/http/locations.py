"""Routes for a customer's locations (addresses)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from customer_command.application import commands as c
from customer_command.domain.values import LocationPatch, NewLocation
from customer_command.entrypoints.http.answers import LocationAdded, command_route
from customer_command.entrypoints.http.runner import UserCall, execute

router = APIRouter(prefix="/v1/customers/{customer_id}/locations", tags=["locations"])


@router.post("", summary="Add a location", **command_route(201, model=LocationAdded))
async def add_location(customer_id: UUID, body: NewLocation, call: UserCall) -> Response:
    location_id = call.new_child_id(customer_id, "location")
    command = c.AddLocation(customer_id, location_id, body)
    return await execute(call, command, status_code=201, extra={"location_id": str(location_id)})


@router.patch("/{location_id}", summary="Edit a location", **command_route())
async def change_location(
    customer_id: UUID, location_id: UUID, body: LocationPatch, call: UserCall
) -> Response:
    return await execute(call, c.ChangeLocation(customer_id, location_id, body))


@router.delete(
    "/{location_id}", summary="Remove a location (refused for the main one)", **command_route()
)
async def remove_location(customer_id: UUID, location_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.RemoveLocation(customer_id, location_id))


@router.post("/{location_id}/make-main", summary="Make this the main location", **command_route())
async def make_main_location(customer_id: UUID, location_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.MakeMainLocation(customer_id, location_id))
