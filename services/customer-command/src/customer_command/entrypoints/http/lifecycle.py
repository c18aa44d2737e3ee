"""Routes that move a customer through its life: roles, archive, merge, anonymise."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from customer_command.application import commands as c
from customer_command.entrypoints.http.answers import command_route
from customer_command.entrypoints.http.bodies import ArchiveBody, MergeBody, RoleBody
from customer_command.entrypoints.http.runner import AdminCall, UserCall, execute

router = APIRouter(prefix="/v1/customers/{customer_id}", tags=["lifecycle"])


@router.post(
    "/convert-to-customer",
    summary="Convert a prospect to a customer (once, for good)",
    **command_route(),
)
async def convert_to_customer(customer_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.ConvertToCustomer(customer_id))


@router.post("/convert-to-company", summary="Convert a person to a company", **command_route())
async def convert_to_company(customer_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.ConvertToCompany(customer_id))


@router.post("/roles", summary="Add a role, e.g. supplier", **command_route())
async def add_role(customer_id: UUID, body: RoleBody, call: UserCall) -> Response:
    return await execute(call, c.AddRole(customer_id, body.role))


@router.post("/archive", summary="Archive (deactivate) a customer", **command_route())
async def archive_customer(
    customer_id: UUID, call: UserCall, body: ArchiveBody | None = None
) -> Response:
    return await execute(call, c.ArchiveCustomer(customer_id, body.reason if body else None))


@router.post("/reactivate", summary="Reactivate an archived customer", **command_route())
async def reactivate_customer(customer_id: UUID, call: UserCall) -> Response:
    return await execute(call, c.ReactivateCustomer(customer_id))


@router.post("/merge", summary="Merge duplicates into this customer (admin)", **command_route())
async def merge_customers(customer_id: UUID, body: MergeBody, call: AdminCall) -> Response:
    return await execute(call, c.MergeCustomers(customer_id, tuple(body.duplicate_ids)))


@router.post(
    "/anonymise",
    summary="Anonymise: destroy the customer's personal data (admin)",
    **command_route(),
)
async def anonymise_customer(customer_id: UUID, call: AdminCall) -> Response:
    return await execute(call, c.AnonymiseCustomer(customer_id))
