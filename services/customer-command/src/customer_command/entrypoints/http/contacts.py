"""Routes for a customer's contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from customer_command.application import commands as c
from customer_command.domain.values import ContactPatch, NewContact
from customer_command.entrypoints.http.answers import ContactAdded, command_route
from customer_command.entrypoints.http.runner import UserCall, execute

router = APIRouter(prefix="/v1/customers/{customer_id}/contacts", tags=["contacts"])


@router.post("", summary="Add a contact", **command_route(201, model=ContactAdded))
async def add_contact(customer_id: UUID, body: NewContact, call: UserCall) -> Response:
    contact_id = call.new_child_id(customer_id, "contact")
    command = c.AddContact(customer_id, contact_id, body, at=datetime.now(UTC))
    return await execute(call, command, status_code=201, extra={"contact_id": str(contact_id)})


@router.patch(
    "/{contact_id}",
    summary="Edit a contact (main: true makes it the main contact)",
    **command_route(),
)
async def change_contact(
    customer_id: UUID, contact_id: UUID, body: ContactPatch, call: UserCall
) -> Response:
    command = c.ChangeContact(customer_id, contact_id, body, at=datetime.now(UTC))
    return await execute(call, command)


@router.delete(
    "/{contact_id}",
    summary="Remove a contact (refused while it is the main one)",
    **command_route(),
)
async def remove_contact(customer_id: UUID, contact_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.RemoveContact(customer_id, contact_id))
