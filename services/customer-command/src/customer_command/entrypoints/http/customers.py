"""Routes that create, edit, label and delete a customer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from customer_command.application import commands as c
from customer_command.domain.values import CustomerPatch, NewCustomer
from customer_command.entrypoints.http.answers import CustomerCreated, command_route
from customer_command.entrypoints.http.quick_route import admin_call, json_body, quick_route
from customer_command.entrypoints.http.runner import AdminCall, UserCall, execute

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Label = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[^/\s][^/]*$")]


async def create_customer(body: NewCustomer, call: AdminCall) -> Response:
    customer_id = call.new_customer_id()
    command = c.CreateCustomer(customer_id, body, creator_language=call.principal.locale)
    response = await execute(call, command, status_code=201)
    response.headers["Location"] = f"/v1/customers/{customer_id}"
    return response


async def _quick_create(request: Request) -> Response | None:
    """The create of an admin with a JSON body that validates, without dependency solving."""
    call = await admin_call(request)
    body = await json_body(request, NewCustomer)
    return None if body is None else await create_customer(body, call)


router.add_api_route(
    "",
    create_customer,
    methods=["POST"],
    summary="Create a customer (admin)",
    route_class_override=quick_route(_quick_create),
    **command_route(201, model=CustomerCreated, problems=(409, 422), location=True),
)


@router.patch("/{customer_id}", summary="Edit a customer's fields", **command_route())
async def change_customer(customer_id: UUID, body: CustomerPatch, call: UserCall) -> Response:
    return await execute(call, c.ChangeCustomerDetails(customer_id, body))


@router.put("/{customer_id}/labels/{label}", summary="Label a customer", **command_route())
async def add_label(customer_id: UUID, label: Label, call: UserCall) -> Response:
    return await execute(call, c.AddLabel(customer_id, label.strip()))


@router.delete("/{customer_id}/labels/{label}", summary="Remove a label", **command_route())
async def remove_label(customer_id: UUID, label: Label, call: UserCall) -> Response:
    return await execute(call, c.RemoveLabel(customer_id, label.strip()))


@router.delete(
    "/{customer_id}",
    summary="Delete a customer (admin; refused while equipment or documents are linked)",
    **command_route(),
)
async def delete_customer(customer_id: UUID, call: AdminCall) -> Response:
    return await execute(call, c.DeleteCustomer(customer_id))
