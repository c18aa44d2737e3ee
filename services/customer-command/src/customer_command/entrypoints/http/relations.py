"""Routes linking a customer to others: related customers, employees, documents."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import Response

from customer_command.application import commands as c
from customer_command.domain.values import NewRelation
from customer_command.entrypoints.http.answers import command_route
from customer_command.entrypoints.http.bodies import DocumentBody
from customer_command.entrypoints.http.runner import UserCall, execute

router = APIRouter(prefix="/v1/customers/{customer_id}", tags=["relations"])
Reference = Annotated[str, Path(min_length=1, max_length=200)]


@router.post("/relations", summary="Relate to another customer", **command_route(201))
async def add_relation(customer_id: UUID, body: NewRelation, call: UserCall) -> Response:
    return await execute(call, c.AddRelation(customer_id, body), status_code=201)


@router.delete("/relations/{other_id}", summary="Remove a relation", **command_route())
async def remove_relation(customer_id: UUID, other_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.RemoveRelation(customer_id, other_id))


@router.put(
    "/employees/{employee_id}", summary="Assign an employee to the customer", **command_route()
)
async def assign_employee(customer_id: UUID, employee_id: Reference, call: UserCall) -> Response:
    return await execute(call, c.AssignEmployee(customer_id, employee_id))


@router.delete("/employees/{employee_id}", summary="Unassign an employee", **command_route())
async def unassign_employee(customer_id: UUID, employee_id: Reference, call: UserCall) -> Response:
    return await execute(call, c.UnassignEmployee(customer_id, employee_id))


@router.post("/documents", summary="Link a document that must be kept", **command_route(201))
async def link_document(customer_id: UUID, body: DocumentBody, call: UserCall) -> Response:
    command = c.LinkDocument(customer_id, body.document_id, body.document_type)
    return await execute(call, command, status_code=201)


@router.delete("/documents/{document_id}", summary="Unlink a document", **command_route())
async def unlink_document(customer_id: UUID, document_id: Reference, call: UserCall) -> Response:
    return await execute(call, c.UnlinkDocument(customer_id, document_id))
