"""Routes for a customer's timeline: comments, calls, visits, emails (read on customer-query)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from customer_command.application import commands as c
from customer_command.domain.values import NewActivity
from customer_command.entrypoints.http.answers import ActivityRecorded, command_route
from customer_command.entrypoints.http.runner import UserCall, execute

router = APIRouter(prefix="/v1/customers/{customer_id}/activities", tags=["activities"])


@router.post(
    "",
    summary="Record a comment, call, visit or email (the text is personal data)",
    **command_route(201, model=ActivityRecorded),
)
async def record_activity(customer_id: UUID, body: NewActivity, call: UserCall) -> Response:
    activity_id = call.new_child_id(customer_id, "activity")
    command = c.RecordActivity(
        customer_id, activity_id, body, datetime.now(UTC), call.principal.sub
    )
    extra = {"activity_id": str(activity_id)}
    return await execute(call, command, status_code=201, extra=extra)
