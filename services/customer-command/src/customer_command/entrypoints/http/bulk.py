"""`POST /v1/customers/bulk`: one action for up to 1000 customers, one outcome per customer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from customer_command.application import commands as c
from customer_command.application.bulk import Outcome, run_for_each
from customer_command.entrypoints.http.problems import problem_for
from customer_command.entrypoints.http.runner import PlainUserCall
from customerhub_shared.http.auth import ADMIN
from customerhub_shared.http.openapi import problem_responses
from customerhub_shared.http.problems import PROBLEM_TYPES, Problem

router = APIRouter(prefix="/v1/customers", tags=["customers"])

BulkAction = Literal[
    "convert-to-customer",
    "archive",
    "reactivate",
    "add-label",
    "remove-label",
    "assign-employee",
    "unassign-employee",
]
ADMIN_ACTIONS = frozenset({"convert-to-customer", "archive"})
MAX_IDS = 1000
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class BulkParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Label | None = Field(default=None, description="add-label, remove-label")
    employee_id: Reference | None = Field(
        default=None, description="assign-employee, unassign-employee"
    )
    reason: Reason | None = Field(default=None, description="archive (optional)")


_NEEDS = {
    "add-label": "label",
    "remove-label": "label",
    "assign-employee": "employee_id",
    "unassign-employee": "employee_id",
}


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: BulkAction
    ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_IDS)]
    params: BulkParams = BulkParams()

    @model_validator(mode="after")
    def _params_fit_the_action(self) -> BulkRequest:
        needed = _NEEDS.get(self.action)
        if needed is not None and getattr(self.params, needed) is None:
            raise ValueError(f"{self.action} needs params.{needed}")
        return self


class BulkProblem(BaseModel):
    status: int
    title: str
    type: str
    detail: str | None = None


class BulkOutcome(BaseModel):
    id: UUID
    outcome: Literal["ok", "refused"]
    version: int | None = Field(default=None, description="With ok: the customer's version")
    position: int | None = Field(default=None, description="With ok: pass as min_position")
    problem: BulkProblem | None = Field(default=None, description="With refused: why")


class BulkAnswer(BaseModel):
    action: BulkAction
    succeeded: int
    refused: int
    items: list[BulkOutcome] = Field(description="One per distinct id, in the order given")


def _command_for(body: BulkRequest) -> Callable[[UUID], c.CustomerCommand]:
    params = body.params
    label, employee = params.label or "", params.employee_id or ""
    commands: dict[str, Callable[[UUID], c.CustomerCommand]] = {
        "convert-to-customer": c.ConvertToCustomer,
        "archive": lambda customer_id: c.ArchiveCustomer(customer_id, params.reason),
        "reactivate": c.ReactivateCustomer,
        "add-label": lambda customer_id: c.AddLabel(customer_id, label),
        "remove-label": lambda customer_id: c.RemoveLabel(customer_id, label),
        "assign-employee": lambda customer_id: c.AssignEmployee(customer_id, employee),
        "unassign-employee": lambda customer_id: c.UnassignEmployee(customer_id, employee),
    }
    return commands[body.action]


def _outcome(outcome: Outcome) -> BulkOutcome:
    if outcome.result is not None:
        return BulkOutcome(
            id=outcome.customer_id,
            outcome="ok",
            version=outcome.result.version,
            position=outcome.result.position,
        )
    assert outcome.refusal is not None
    problem = problem_for(outcome.refusal)
    assert problem is not None
    return BulkOutcome(
        id=outcome.customer_id,
        outcome="refused",
        problem=BulkProblem(
            status=problem.status, title=problem.title, type=problem.type, detail=problem.detail
        ),
    )


@router.post(
    "/bulk",
    summary="One action for many customers (admin for archive and convert-to-customer)",
    response_model=BulkAnswer,
    responses=problem_responses(403, s403="A user asked for archive or convert-to-customer"),
)
async def bulk_customers(body: BulkRequest, call: PlainUserCall) -> Any:
    if body.action in ADMIN_ACTIONS and ADMIN not in call.principal.roles:
        raise Problem(
            403,
            "Forbidden",
            detail=f"{body.action} needs the role admin",
            type=PROBLEM_TYPES + "forbidden",
        )
    structlog.contextvars.bind_contextvars(bulk_action=body.action, customers=len(body.ids))
    outcomes = await run_for_each(
        body.ids, _command_for(body), call.command_context(), call.service.ports
    )
    items = [_outcome(outcome) for outcome in outcomes]
    succeeded = sum(item.outcome == "ok" for item in items)
    return BulkAnswer(
        action=body.action, succeeded=succeeded, refused=len(items) - succeeded, items=items
    )
